//! Caller params as pop-core sees them, and their flattening into query pairs.

use std::borrow::Cow;

/// One param value after JavaScript's `String(v)` has been applied to its
/// leaves. Arrays and objects-inside-arrays keep their shape because the wire
/// format spells them out as `K.1`, `K.1.Field`.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    /// A leaf, already stringified as `String(v)` would.
    Text(String),
    /// `undefined` or `null`: left out of the request (an improvement over
    /// the original, which sends the text "undefined").
    Absent,
    /// An array: `K.1`, `K.2`, ...
    List(Vec<ParamValue>),
    /// An object that is an array element: `K.n.Field` for each own key.
    Fields(Vec<(String, ParamValue)>),
}

impl From<&str> for ParamValue {
    fn from(text: &str) -> Self {
        ParamValue::Text(text.to_owned())
    }
}

impl From<String> for ParamValue {
    fn from(text: String) -> Self {
        ParamValue::Text(text)
    }
}

/// pop-core's `firstLetterUpper`: upper-cases the first UTF-16 code unit, so
/// a character outside the BMP (a surrogate pair in JS) is left alone.
/// Borrows when nothing changes (the usual `PoolKey`).
pub fn first_letter_upper(key: &str) -> Cow<'_, str> {
    let mut chars = key.chars();
    match chars.next() {
        Some(first) if first.len_utf16() == 1 => {
            let upper = first.to_uppercase();
            if upper.len() == 1 && upper.clone().next() == Some(first) {
                return Cow::Borrowed(key);
            }
            let mut out = String::with_capacity(key.len() + 2);
            out.extend(upper);
            out.push_str(chars.as_str());
            Cow::Owned(out)
        }
        _ => Cow::Borrowed(key),
    }
}

/// An ordered set of query pairs where a later insert of the same key
/// replaces the earlier value, as JS object assignment does. Keys and values
/// borrow from the request where they can: signing is on every call's path.
#[derive(Debug, Default, Clone)]
pub struct PairSet<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> PairSet<'a> {
    /// An empty set with room for `n` pairs.
    pub fn with_capacity(n: usize) -> Self {
        PairSet {
            pairs: Vec::with_capacity(n),
        }
    }

    /// Sets `key` to `value`, replacing any earlier value of that key.
    pub fn set(&mut self, key: impl Into<Cow<'a, str>>, value: impl Into<Cow<'a, str>>) {
        let (key, value) = (key.into(), value.into());
        match self.pairs.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.pairs.push((key, value)),
        }
    }

    /// Adds one caller param, spelling arrays out as pop-core's `flatParams` does.
    pub fn set_param(&mut self, key: Cow<'a, str>, value: &'a ParamValue) {
        match value {
            ParamValue::Text(text) => self.set(key, text.as_str()),
            ParamValue::Absent => {}
            ParamValue::List(items) => self.set_list(&key, items),
            // A top-level object never reaches here: the binding stringifies
            // it ("[object Object]") as the original does.
            ParamValue::Fields(fields) => {
                for (field, value) in fields {
                    self.set_param(format!("{key}.{field}").into(), value);
                }
            }
        }
    }

    fn set_list(&mut self, key: &str, items: &'a [ParamValue]) {
        for (index, item) in items.iter().enumerate() {
            let item_key = format!("{key}.{}", index + 1);
            match item {
                ParamValue::Fields(fields) => {
                    for (field, value) in fields {
                        let field_key = format!("{item_key}.{field}");
                        match value {
                            ParamValue::List(inner) => self.set_list(&field_key, inner),
                            other => self.set_param(field_key.into(), other),
                        }
                    }
                }
                other => self.set_param(item_key.into(), other),
            }
        }
    }

    /// The pairs sorted as pop-core sorts them: `Array.prototype.sort` on the
    /// raw keys, which compares UTF-16 code units.
    /// Keys are unique, so the order is total and an unstable sort is the
    /// same as JS's stable one; for all-ASCII keys (the usual case) bytes
    /// order as UTF-16 code units do.
    pub fn into_sorted(mut self) -> Vec<(Cow<'a, str>, Cow<'a, str>)> {
        if self.pairs.iter().all(|(key, _)| key.is_ascii()) {
            self.pairs
                .sort_unstable_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
        } else {
            self.pairs
                .sort_unstable_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
        }
        self.pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_letter_upper_matches_js() {
        assert_eq!(first_letter_upper("poolKey"), "PoolKey");
        assert_eq!(first_letter_upper("PoolKey"), "PoolKey");
        assert_eq!(first_letter_upper(""), "");
        assert_eq!(first_letter_upper("éa"), "Éa");
        assert_eq!(first_letter_upper("ßa"), "SSa");
        assert_eq!(first_letter_upper("1abc"), "1abc");
        // Deseret small letter: a surrogate pair in JS, not upper-cased there.
        assert_eq!(first_letter_upper("\u{10428}x"), "\u{10428}x");
    }

    #[test]
    fn arrays_and_objects_in_arrays_are_spelled_out() {
        let value = ParamValue::List(vec![
            "a".into(),
            ParamValue::Fields(vec![
                ("F".into(), "x".into()),
                ("L".into(), ParamValue::List(vec!["y".into(), "z".into()])),
            ]),
            ParamValue::List(vec!["n".into()]),
            ParamValue::Absent,
        ]);
        let mut set = PairSet::default();
        set.set_param("K".into(), &value);
        let pairs = set.into_sorted();
        let keys: Vec<_> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            keys,
            ["K.1=a", "K.2.F=x", "K.2.L.1=y", "K.2.L.2=z", "K.3.1=n"]
        );
    }

    #[test]
    fn later_value_of_a_key_wins_and_sort_is_by_code_unit() {
        let mut set = PairSet::default();
        set.set("b", "1");
        set.set("a", "2");
        set.set("b", "3");
        set.set("\u{FF21}", "fullwidth");
        set.set("\u{1F600}", "emoji");
        set.set("B", "upper");
        let keys = set.into_sorted();
        assert_eq!(keys[0], ("B".into(), "upper".into()));
        assert_eq!(keys[1], ("a".into(), "2".into()));
        assert_eq!(keys[2], ("b".into(), "3".into()));
        // U+1F600 is D83D DE00 in UTF-16, below U+FF21: JS sorts it first.
        assert_eq!(keys[3].0, "\u{1F600}");
        assert_eq!(keys[4].0, "\u{FF21}");
    }

    proptest::proptest! {
        /// The sort is `Array.prototype.sort` on the keys: UTF-16 code units,
        /// which differs from Rust's byte order beyond the BMP.
        #[test]
        fn sorted_by_utf16_code_units_and_later_values_win(
            pairs in proptest::collection::vec((proptest::prelude::any::<String>(), "[a-z]{0,3}"), 0..24)
        ) {
            let mut set = PairSet::default();
            let mut model: Vec<(String, String)> = Vec::new();
            for (key, value) in &pairs {
                set.set(key.clone(), value.clone());
                match model.iter_mut().find(|(k, _)| k == key) {
                    Some(slot) => slot.1 = value.clone(),
                    None => model.push((key.clone(), value.clone())),
                }
            }
            model.sort_by_key(|(k, _)| k.encode_utf16().collect::<Vec<u16>>());
            let sorted: Vec<(String, String)> = set
                .into_sorted()
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            proptest::prop_assert_eq!(sorted, model);
        }
    }
}
