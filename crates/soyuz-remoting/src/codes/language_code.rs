//! `LanguageCode`: the sender's language, a byte in the binary header and an enum name in
//! JSON headers.

/// The language a peer is written in (`LanguageCode.java`). Unknown bytes are kept as they
/// are, so a newer peer's code survives a round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LanguageCode(pub u8);

macro_rules! languages {
    ($($name:ident = $value:expr,)*) => {
        impl LanguageCode {
            $(
                #[doc = concat!("`", stringify!($name), "` (", stringify!($value), ").")]
                pub const $name: LanguageCode = LanguageCode($value);
            )*

            /// The Java enum name, or `None` for a code this table does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some(stringify!($name)), )*
                    _ => None,
                }
            }

            /// Parses a Java enum name (as JSON headers carry it).
            pub fn from_name(name: &str) -> Option<LanguageCode> {
                match name {
                    $( stringify!($name) => Some(LanguageCode::$name), )*
                    _ => None,
                }
            }
        }
    };
}

languages! {
    JAVA = 0,
    CPP = 1,
    DOTNET = 2,
    PYTHON = 3,
    DELPHI = 4,
    ERLANG = 5,
    RUBY = 6,
    OTHER = 7,
    HTTP = 8,
    GO = 9,
    PHP = 10,
    OMS = 11,
    RUST = 12,
    NODE_JS = 13,
}

impl Default for LanguageCode {
    fn default() -> Self {
        LanguageCode::JAVA
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_match_java() {
        assert_eq!(LanguageCode::from_name("JAVA"), Some(LanguageCode(0)));
        assert_eq!(LanguageCode::from_name("NODE_JS"), Some(LanguageCode(13)));
        assert_eq!(LanguageCode::RUST.name(), Some("RUST"));
        assert_eq!(LanguageCode(99).name(), None);
        assert_eq!(LanguageCode::from_name("COBOL"), None);
    }
}
