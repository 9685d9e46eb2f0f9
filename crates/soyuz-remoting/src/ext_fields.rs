//! [`ExtFields`], a command's "custom header": a handful of text entries kept sorted by
//! key, so the JSON header lists them in fastjson's alphabetical order.
//!
//! A sorted vector instead of a `BTreeMap`: a header holds a dozen short entries, which
//! a peer usually sends already sorted, so reading one is a push per entry into one
//! allocation, and a lookup a binary search over contiguous memory.

use std::cmp::Ordering;
use std::fmt;

/// `a.cmp(b)` for keys, which are a few bytes long (a send header's are one letter):
/// compared inline, without the library call a general string comparison makes.
fn key_order(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() > 8 || b.len() > 8 {
        return a.cmp(b);
    }
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Header fields as strings, sorted by key, each key once.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExtFields {
    entries: Vec<(String, String)>,
}

impl ExtFields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// No fields, with room for `capacity`.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: Vec::with_capacity(capacity),
        }
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| key_order(k, key))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&String> {
        self.position(key).ok().map(|i| &self.entries[i].1)
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: String, value: String) -> Option<String> {
        // Peers write keys in order, and typed headers too: appending is the common case.
        if self
            .entries
            .last()
            .is_none_or(|(last, _)| key_order(last, &key) == Ordering::Less)
        {
            self.entries.push((key, value));
            return None;
        }
        match self.position(&key) {
            Ok(i) => Some(std::mem::replace(&mut self.entries[i].1, value)),
            Err(i) => {
                self.entries.insert(i, (key, value));
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.position(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    /// Keeps only the fields for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&String, &mut String) -> bool) {
        self.entries.retain_mut(|(k, v)| keep(k, v));
    }

    /// How many fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The fields in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&String, &String)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl Extend<(String, String)> for ExtFields {
    fn extend<I: IntoIterator<Item = (String, String)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl FromIterator<(String, String)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (String, String)>>(iter: I) -> Self {
        let mut fields = Self::new();
        fields.extend(iter);
        fields
    }
}

impl<const N: usize> From<[(String, String); N]> for ExtFields {
    fn from(entries: [(String, String); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl IntoIterator for ExtFields {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.into_iter()
    }
}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a String, &'a String);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (String, String)>,
        fn(&'a (String, String)) -> (&'a String, &'a String),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn key_order_is_string_order(a in "\\PC{0,12}", b in "\\PC{0,12}") {
            prop_assert_eq!(key_order(&a, &b), a.cmp(&b));
            prop_assert_eq!(key_order(&a, &a), Ordering::Equal);
        }

        /// Any sequence of inserts and removes leaves what a BTreeMap would hold, in
        /// the same order.
        #[test]
        fn behaves_like_a_sorted_map(
            ops in prop::collection::vec((any::<bool>(), "[a-e]{0,2}|[a-c]{7,11}", "[0-9]{0,2}"), 0..40)
        ) {
            let mut fields = ExtFields::new();
            let mut model = BTreeMap::new();
            for (insert, key, value) in ops {
                if insert {
                    prop_assert_eq!(
                        fields.insert(key.clone(), value.clone()),
                        model.insert(key, value)
                    );
                } else {
                    prop_assert_eq!(fields.remove(&key), model.remove(&key));
                }
                prop_assert_eq!(fields.len(), model.len());
            }
            prop_assert!(fields.iter().eq(model.iter()));
            for key in model.keys() {
                prop_assert_eq!(fields.get(key), model.get(key));
                prop_assert!(fields.contains_key(key));
            }
        }
    }
}
