//! [`ExtFields`], a command's "custom header": a handful of text entries kept sorted by
//! key, so the JSON header lists them in fastjson's alphabetical order.
//!
//! A sorted vector of offsets into one shared string instead of a `BTreeMap` of strings:
//! a header holds a dozen short entries, which a peer usually sends already sorted, so
//! reading one is a push per entry into two allocations in all, and a lookup a binary
//! search over contiguous memory.

use std::cmp::Ordering;
use std::fmt;

/// `a.cmp(b)` for keys, which are a few bytes long (a send header's are one letter):
/// compared inline, without the library call a general string comparison makes.
/// Keys are compared as bytes (UTF-8 byte order is string order), which also spares
/// slicing the shared text at checked char boundaries on every probe.
fn key_order(a: &[u8], b: &[u8]) -> Ordering {
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

/// Where one entry's key and value sit in the shared text.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: (u32, u32),
    value: (u32, u32),
}

/// Header fields as strings, sorted by key, each key once.
///
/// Every key and value lives in one shared `String`, so reading or building a header
/// costs two allocations, not two per field. A replaced or removed entry leaves its old
/// text behind until the fields are dropped; a header is short-lived and small.
#[derive(Clone, Default)]
pub struct ExtFields {
    text: String,
    entries: Vec<Entry>,
}

impl ExtFields {
    /// No fields.
    pub fn new() -> Self {
        Self::default()
    }

    /// No fields, with room for `capacity` of them.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            text: String::with_capacity(capacity * 24),
            entries: Vec::with_capacity(capacity),
        }
    }

    fn slice(&self, (start, end): (u32, u32)) -> &str {
        &self.text[start as usize..end as usize]
    }

    fn key_of(&self, entry: &Entry) -> &[u8] {
        &self.text.as_bytes()[entry.key.0 as usize..entry.key.1 as usize]
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.entries
            .binary_search_by(|entry| key_order(self.key_of(entry), key.as_bytes()))
    }

    /// Appends `text` to the shared text and returns where it sits.
    fn push_text(&mut self, text: &str) -> (u32, u32) {
        let start = self.text.len();
        self.text.push_str(text);
        (to_u32(start), to_u32(self.text.len()))
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.position(key)
            .ok()
            .map(|i| self.slice(self.entries[i].value))
    }

    /// Whether `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key).is_ok()
    }

    /// Sets `key` to `value`; returns the value it replaced.
    pub fn insert(&mut self, key: &str, value: &str) -> Option<String> {
        self.insert_with(key, |text| text.push_str(value))
    }

    /// Sets `key` to what `display` prints (a number, say) without an intermediate
    /// string; returns the value it replaced.
    pub fn insert_display(&mut self, key: &str, display: impl fmt::Display) -> Option<String> {
        use std::fmt::Write as _;
        self.insert_with(key, |text| {
            let _ = write!(text, "{display}");
        })
    }

    fn insert_with(&mut self, key: &str, write_value: impl FnOnce(&mut String)) -> Option<String> {
        // Peers write keys in order, and typed headers too: appending is the common case.
        let at = match self.entries.last() {
            Some(last) if key_order(self.key_of(last), key.as_bytes()) != Ordering::Less => {
                self.position(key)
            }
            _ => Err(self.entries.len()),
        };
        let value_start = self.text.len();
        write_value(&mut self.text);
        let value = (to_u32(value_start), to_u32(self.text.len()));
        match at {
            Ok(i) => {
                let old = self.slice(self.entries[i].value).to_owned();
                self.entries[i].value = value;
                Some(old)
            }
            Err(i) => {
                let key = self.push_text(key);
                self.entries.insert(i, Entry { key, value });
                None
            }
        }
    }

    /// Removes `key`; returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let i = self.position(key).ok()?;
        let entry = self.entries.remove(i);
        Some(self.slice(entry.value).to_owned())
    }

    /// Keeps only the fields for which `keep` holds.
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        let text = &self.text;
        let slice = |(start, end): (u32, u32)| &text[start as usize..end as usize];
        self.entries
            .retain(|entry| keep(slice(entry.key), slice(entry.value)));
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
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> {
        self.entries
            .iter()
            .map(|entry| (self.slice(entry.key), self.slice(entry.value)))
    }
}

/// Offsets into a header's text: a frame is at most 16 MiB, far below `u32::MAX`.
fn to_u32(offset: usize) -> u32 {
    u32::try_from(offset).expect("a header's text fits in u32 offsets")
}

impl PartialEq for ExtFields {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for ExtFields {}

impl fmt::Debug for ExtFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> Extend<(K, V)> for ExtFields {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key.as_ref(), value.as_ref());
        }
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut fields = Self::new();
        fields.extend(iter);
        fields
    }
}

impl<K: AsRef<str>, V: AsRef<str>, const N: usize> From<[(K, V); N]> for ExtFields {
    fn from(entries: [(K, V); N]) -> Self {
        entries.into_iter().collect()
    }
}

impl IntoIterator for ExtFields {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect::<Vec<_>>()
            .into_iter()
    }
}

impl<'a> IntoIterator for &'a ExtFields {
    type Item = (&'a str, &'a str);
    type IntoIter = Box<dyn ExactSizeIterator<Item = (&'a str, &'a str)> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
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
            prop_assert_eq!(key_order(a.as_bytes(), b.as_bytes()), a.cmp(&b));
            prop_assert_eq!(key_order(a.as_bytes(), a.as_bytes()), Ordering::Equal);
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
                        fields.insert(&key, &value),
                        model.insert(key, value)
                    );
                } else {
                    prop_assert_eq!(fields.remove(&key), model.remove(&key));
                }
                prop_assert_eq!(fields.len(), model.len());
            }
            prop_assert!(fields.iter().eq(model.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
            for key in model.keys() {
                prop_assert_eq!(fields.get(key), model.get(key).map(String::as_str));
                prop_assert!(fields.contains_key(key));
            }
            let owned: Vec<(String, String)> = fields.clone().into_iter().collect();
            prop_assert!(owned.into_iter().eq(model.clone()));
        }
    }
}
