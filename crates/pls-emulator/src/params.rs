//! The parameters of an RPC request, decoded from the query or the form
//! body, in the order received: what the gateway checks and what every
//! action reads.

use std::borrow::Cow;

/// The request's parameters, decoded, in the order received.
#[derive(Debug, Clone, Default)]
pub struct Params<'a> {
    pairs: Vec<(Cow<'a, str>, Cow<'a, str>)>,
}

impl<'a> Params<'a> {
    /// Decodes an `application/x-www-form-urlencoded` text (a query or a
    /// POST body) onto the pairs already held.
    pub fn extend_from_form(&mut self, form: &'a [u8]) {
        self.pairs.extend(form_urlencoded::parse(form));
    }

    /// Adds a pair that arrived elsewhere than in the query or body (the
    /// ACS3 headers).
    pub fn push_owned(&mut self, key: &str, value: String) {
        self.pairs
            .push((Cow::Owned(key.to_owned()), Cow::Owned(value)));
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_ref())
    }

    /// Every pair but `Signature`, for the StringToSign.
    pub fn signed_pairs(&self) -> Vec<(&str, &str)> {
        self.pairs
            .iter()
            .filter(|(k, _)| k != "Signature")
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect()
    }
}

#[cfg(test)]
impl Params<'static> {
    /// Params from owned pairs.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Params {
            pairs: pairs
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k), Cow::Owned(v)))
                .collect(),
        }
    }

    /// Replaces or adds a pair (tests).
    pub fn set(&mut self, key: &str, value: &str) {
        match self.pairs.iter_mut().find(|(k, _)| k == key) {
            Some(pair) => pair.1 = Cow::Owned(value.to_string()),
            None => self
                .pairs
                .push((Cow::Owned(key.to_string()), Cow::Owned(value.to_string()))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_decode_percent_and_keep_plus_semantics() {
        let mut p = Params::default();
        p.extend_from_form(b"City=%E5%8C%97%E4%BA%AC&Sum=1%2B1&Sp=a%20b&Empty=");
        assert_eq!(p.get("City"), Some("北京"));
        assert_eq!(p.get("Sum"), Some("1+1"));
        assert_eq!(p.get("Sp"), Some("a b"));
        assert_eq!(p.get("Empty"), Some(""));
        assert_eq!(p.get("None"), None);
    }
}
