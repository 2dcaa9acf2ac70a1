//! A compact set of node ids: a bitmap over odd (JS) ids when that is smaller than a sorted
//! list, plus a sorted list of the rest. Membership is O(1) for the common case.

/// Set of snapshot node ids.
#[derive(Debug, Clone, Default)]
pub struct IdSet {
    /// Bit `id / 2` for odd ids when `bitmap` is used.
    bits: Vec<u64>,
    use_bits: bool,
    /// Sorted ids not in the bitmap (all ids when the bitmap is not used).
    sorted: Vec<u32>,
    len: usize,
}

impl IdSet {
    pub fn from_ids(ids: &[u32]) -> IdSet {
        let max_odd = ids
            .iter()
            .filter(|&&i| i % 2 == 1)
            .max()
            .copied()
            .unwrap_or(0);
        let bitmap_bytes = (max_odd as usize / 2) / 8 + 8;
        let list_bytes = ids.len() * 4;
        if bitmap_bytes <= list_bytes {
            let mut bits = vec![0u64; (max_odd as usize / 2) / 64 + 1];
            let mut sorted = Vec::new();
            for &id in ids {
                if id % 2 == 1 {
                    let k = id as usize / 2;
                    bits[k / 64] |= 1u64 << (k % 64);
                } else {
                    sorted.push(id);
                }
            }
            sorted.sort_unstable();
            sorted.dedup();
            IdSet {
                bits,
                use_bits: true,
                sorted,
                len: ids.len(),
            }
        } else {
            let mut sorted = ids.to_vec();
            sorted.sort_unstable();
            sorted.dedup();
            IdSet {
                bits: Vec::new(),
                use_bits: false,
                len: sorted.len(),
                sorted,
            }
        }
    }

    #[inline]
    pub fn contains(&self, id: u32) -> bool {
        if self.use_bits && id % 2 == 1 {
            let k = id as usize / 2;
            return self
                .bits
                .get(k / 64)
                .is_some_and(|w| w & (1u64 << (k % 64)) != 0);
        }
        self.sorted.binary_search(&id).is_ok()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn heap_bytes(&self) -> usize {
        self.bits.capacity() * 8 + self.sorted.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_both_representations() {
        let dense: Vec<u32> = (0..10_000u32)
            .map(|i| i * 2 + 1)
            .chain([2, 4, 100_000])
            .collect();
        let s = IdSet::from_ids(&dense);
        assert!(s.use_bits);
        assert!(s.contains(1) && s.contains(19_999) && s.contains(4) && s.contains(100_000));
        assert!(!s.contains(3 * 100_000 + 1) && !s.contains(6) && !s.contains(0));
        let sparse = [1u32, 3_000_000_001, 7, 8];
        let s = IdSet::from_ids(&sparse);
        assert!(!s.use_bits);
        assert!(s.contains(3_000_000_001) && s.contains(8) && !s.contains(5));
        assert_eq!(s.len(), 4);
    }
}
