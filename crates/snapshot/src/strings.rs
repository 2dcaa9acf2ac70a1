//! The snapshot's string table: all strings in one buffer, indexed by offsets.

/// Deduplicated strings of a snapshot (`strings` section), stored in one `String` with an
/// offset table, so millions of names cost one allocation.
#[derive(Debug, Clone, Default)]
pub struct StringTable {
    data: String,
    /// `offsets[i]..offsets[i + 1]` is string `i`; length is `len() + 1`.
    offsets: Vec<u64>,
}

impl StringTable {
    pub fn new() -> Self {
        StringTable {
            data: String::new(),
            offsets: vec![0],
        }
    }

    pub fn with_capacity(strings: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(strings + 1);
        offsets.push(0);
        StringTable {
            data: String::with_capacity(bytes),
            offsets,
        }
    }

    /// Appends a string and returns its index.
    pub fn push(&mut self, s: &str) -> u32 {
        self.data.push_str(s);
        self.offsets.push(self.data.len() as u64);
        (self.offsets.len() - 2) as u32
    }

    /// Mutable access to the buffer for decoders that append in pieces; call
    /// [`StringTable::finish_string`] to close the string.
    pub fn buffer_mut(&mut self) -> &mut String {
        &mut self.data
    }

    /// Closes the string being appended through [`StringTable::buffer_mut`].
    pub fn finish_string(&mut self) -> u32 {
        self.offsets.push(self.data.len() as u64);
        (self.offsets.len() - 2) as u32
    }

    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// String `index`, or `""` when out of range (callers validate indexes at parse time).
    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        if i + 1 >= self.offsets.len() {
            return "";
        }
        &self.data[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// Index of the first string equal to `s`, by linear scan (for rare look-ups).
    pub fn find(&self, s: &str) -> Option<u32> {
        (0..self.len() as u32).find(|&i| self.get(i) == s)
    }

    pub fn heap_bytes(&self) -> usize {
        self.data.capacity() + self.offsets.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_and_get() {
        let mut t = StringTable::new();
        assert_eq!(t.push("<dummy>"), 0);
        assert_eq!(t.push(""), 1);
        assert_eq!(t.push("héllo"), 2);
        assert_eq!(t.get(0), "<dummy>");
        assert_eq!(t.get(1), "");
        assert_eq!(t.get(2), "héllo");
        assert_eq!(t.get(3), "");
        assert_eq!(t.len(), 3);
        assert_eq!(t.find("héllo"), Some(2));
    }
}
