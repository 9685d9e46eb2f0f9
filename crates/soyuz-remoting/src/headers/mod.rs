//! Typed request and response headers, converted to and from `extFields`.
//!
//! Java decodes `extFields` into a header class by field name; fields marked `@CFNotNull`
//! must be present. Here each header is declared once with [`command_header!`]: `req`
//! fields are required on decode and always written, `opt` fields are `Option`s. Values
//! travel as text: numbers in decimal, booleans as `true` / `false`. Unknown ext fields
//! are ignored, as Java ignores them.

use thiserror::Error;

use crate::command::ExtFields;

pub mod consumer;
pub mod namesrv;
pub mod producer;

/// Why `extFields` could not be turned into a typed header.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A required field is absent (Java: "the custom field <name> is null").
    #[error("the custom field <{field}> is null")]
    Missing {
        /// The ext-field key.
        field: &'static str,
    },
    /// A field's text does not parse as its type.
    #[error("the custom field <{field}> has value [{value}] which is not a valid {expected}")]
    Invalid {
        /// The ext-field key.
        field: &'static str,
        /// The text received.
        value: String,
        /// The expected type.
        expected: &'static str,
    },
}

/// A header that travels as `extFields`.
pub trait CommandHeader: Sized {
    /// The header as ext fields; absent optional fields are left out.
    fn to_ext_fields(&self) -> ExtFields;
    /// Reads the header from ext fields, requiring every `req` field.
    fn from_ext_fields(fields: &ExtFields) -> Result<Self, HeaderError>;
}

/// A type a header field can have, with Java's text conversions.
pub trait HeaderValue: Sized {
    /// The type's name in error messages.
    const TYPE_NAME: &'static str;
    /// Parses the text the way the Java field setter would.
    fn parse_header(text: &str) -> Option<Self>;
    /// Formats the value the way Java's `toString` would.
    fn format_header(&self) -> String;
    /// Sets `key` in `fields` to [`HeaderValue::format_header`]'s text.
    fn put_header(&self, fields: &mut ExtFields, key: &str) {
        fields.insert(key, &self.format_header());
    }
}

impl HeaderValue for String {
    const TYPE_NAME: &'static str = "string";
    fn parse_header(text: &str) -> Option<Self> {
        Some(text.to_owned())
    }
    fn format_header(&self) -> String {
        self.clone()
    }
    fn put_header(&self, fields: &mut ExtFields, key: &str) {
        fields.insert(key, self);
    }
}

macro_rules! integer_header_value {
    ($($ty:ty => $name:literal),*) => {$(
        impl HeaderValue for $ty {
            const TYPE_NAME: &'static str = $name;
            // Java's Integer.parseInt / Long.parseLong: no trimming, optional sign.
            fn parse_header(text: &str) -> Option<Self> {
                text.parse().ok()
            }
            fn format_header(&self) -> String {
                self.to_string()
            }
            fn put_header(&self, fields: &mut ExtFields, key: &str) {
                fields.insert_display(key, self);
            }
        }
    )*};
}

integer_header_value!(i32 => "int", i64 => "long");

impl HeaderValue for bool {
    const TYPE_NAME: &'static str = "boolean";
    // Java's Boolean.parseBoolean: "true" in any case is true, anything else false.
    fn parse_header(text: &str) -> Option<Self> {
        Some(text.eq_ignore_ascii_case("true"))
    }
    fn format_header(&self) -> String {
        self.to_string()
    }
    fn put_header(&self, fields: &mut ExtFields, key: &str) {
        fields.insert(key, if *self { "true" } else { "false" });
    }
}

impl HeaderValue for f64 {
    const TYPE_NAME: &'static str = "double";
    fn parse_header(text: &str) -> Option<Self> {
        text.trim().parse().ok()
    }
    fn format_header(&self) -> String {
        self.to_string()
    }
}

/// Reads a required field.
pub fn read_required<T: HeaderValue>(
    fields: &ExtFields,
    key: &'static str,
) -> Result<T, HeaderError> {
    read_optional(fields, key)?.ok_or(HeaderError::Missing { field: key })
}

/// Reads an optional field; present but unparsable is still an error.
pub fn read_optional<T: HeaderValue>(
    fields: &ExtFields,
    key: &'static str,
) -> Result<Option<T>, HeaderError> {
    match fields.get(key) {
        None => Ok(None),
        Some(text) => T::parse_header(text)
            .map(Some)
            .ok_or_else(|| HeaderError::Invalid {
                field: key,
                value: text.to_owned(),
                expected: T::TYPE_NAME,
            }),
    }
}

/// Declares a header struct and its [`CommandHeader`] impl.
///
/// ```ignore
/// command_header! {
///     /// GET_ROUTEINFO_BY_TOPIC (105).
///     pub struct GetRouteInfoRequestHeader {
///         /// The topic.
///         req topic: String = "topic",
///         /// Ask for standard JSON.
///         opt accept_standard_json_only: bool = "acceptStandardJsonOnly",
///     }
/// }
/// ```
#[macro_export]
macro_rules! command_header {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$field_meta:meta])* $kind:ident $field:ident : $ty:ty = $key:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name {
            $( $(#[$field_meta])* pub $field: $crate::command_header!(@type $kind $ty), )*
        }

        impl $crate::headers::CommandHeader for $name {
            fn to_ext_fields(&self) -> $crate::command::ExtFields {
                #[allow(unused_mut)]
                let mut fields = $crate::command::ExtFields::with_capacity(16);
                $( $crate::command_header!(@put $kind fields, $key, &self.$field); )*
                fields
            }

            #[allow(unused_variables)]
            fn from_ext_fields(
                fields: &$crate::command::ExtFields,
            ) -> Result<Self, $crate::headers::HeaderError> {
                Ok(Self {
                    $( $field: $crate::command_header!(@read $kind fields, $key), )*
                })
            }
        }
    };
    (@type req $ty:ty) => { $ty };
    (@type opt $ty:ty) => { Option<$ty> };
    (@put req $fields:ident, $key:literal, $value:expr) => {
        $crate::headers::HeaderValue::put_header($value, &mut $fields, $key);
    };
    (@put opt $fields:ident, $key:literal, $value:expr) => {
        if let Some(value) = $value {
            $crate::headers::HeaderValue::put_header(value, &mut $fields, $key);
        }
    };
    (@read req $fields:ident, $key:literal) => {
        $crate::headers::read_required($fields, $key)?
    };
    (@read opt $fields:ident, $key:literal) => {
        $crate::headers::read_optional($fields, $key)?
    };
}

/// Ext fields from `(key, value)` pairs, for tests.
#[cfg(test)]
pub(crate) fn ext_fields(pairs: &[(&str, &str)]) -> ExtFields {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    crate::command_header! {
        /// A header with one field of each kind, for these tests.
        pub struct SampleHeader {
            /// Required text.
            req name: String = "name",
            /// Required number.
            req count: i32 = "count",
            /// Optional long.
            opt offset: i64 = "offset",
            /// Optional flag.
            opt enabled: bool = "enabled",
        }
    }

    use crate::headers::ext_fields as fields;

    #[test]
    fn round_trips_and_leaves_out_absent_options() {
        let header = SampleHeader {
            name: "g".into(),
            count: -3,
            offset: Some(1 << 40),
            enabled: None,
        };
        let ext = header.to_ext_fields();
        assert_eq!(
            ext,
            fields(&[("name", "g"), ("count", "-3"), ("offset", "1099511627776")])
        );
        assert_eq!(SampleHeader::from_ext_fields(&ext), Ok(header));
    }

    #[test]
    fn missing_required_field_is_named() {
        let err = SampleHeader::from_ext_fields(&fields(&[("name", "g")])).expect_err("must fail");
        assert_eq!(err, HeaderError::Missing { field: "count" });
        assert_eq!(err.to_string(), "the custom field <count> is null");
    }

    #[test]
    fn unparsable_number_is_an_error_even_when_optional() {
        let err = SampleHeader::from_ext_fields(&fields(&[
            ("name", "g"),
            ("count", "1"),
            ("offset", " 5"),
        ]))
        .expect_err("must fail");
        assert!(matches!(
            err,
            HeaderError::Invalid {
                field: "offset",
                ..
            }
        ));
    }

    #[test]
    fn booleans_follow_java_parse_boolean() {
        let parse = |v: &str| {
            SampleHeader::from_ext_fields(&fields(&[("name", "g"), ("count", "1"), ("enabled", v)]))
                .map(|h| h.enabled)
        };
        assert_eq!(parse("TRUE"), Ok(Some(true)));
        assert_eq!(parse("yes"), Ok(Some(false)));
        assert_eq!(parse(""), Ok(Some(false)));
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let ext = fields(&[("name", "g"), ("count", "1"), ("bname", "broker-a")]);
        assert!(SampleHeader::from_ext_fields(&ext).is_ok());
    }
}
