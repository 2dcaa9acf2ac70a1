//! Small helpers that reproduce JavaScript string semantics DevTools relies on.

/// `s.length` in JavaScript: UTF-16 code units.
pub fn js_len(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.encode_utf16().count()
    }
}

/// DevTools `formatPropertyName`: names with `,'"{}` are shown JSON-quoted.
pub fn format_property_name(name: &str) -> std::borrow::Cow<'_, str> {
    if name.contains([',', '\'', '"', '{', '}']) {
        std::borrow::Cow::Owned(serde_json::to_string(name).unwrap_or_else(|_| name.to_string()))
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_quoting() {
        assert_eq!(js_len("abc"), 3);
        assert_eq!(js_len("é"), 1);
        assert_eq!(js_len("😀"), 2);
        assert_eq!(format_property_name("plain"), "plain");
        assert_eq!(format_property_name("a,b"), "\"a,b\"");
        assert_eq!(format_property_name("say \"hi\""), "\"say \\\"hi\\\"\"");
    }
}
