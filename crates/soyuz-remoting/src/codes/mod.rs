//! RocketMQ's numeric code tables, with the exact numbers of the Java source.
//!
//! Codes stay plain integers on the wire and in our types: a peer may send a code we do
//! not know, and it must still be answered (with REQUEST_CODE_NOT_SUPPORTED) rather than
//! rejected at decode time. Each table is a module of `pub const` items plus a `name`
//! lookup for logs and error remarks.

/// Declares a module of named integer codes with a reverse lookup.
macro_rules! code_table {
    (
        $(#[$module_doc:meta])*
        pub mod $module:ident : $int:ty {
            $( $(#[$doc:meta])* $name:ident = $value:expr, )*
        }
    ) => {
        $(#[$module_doc])*
        pub mod $module {
            $( $(#[$doc])* pub const $name: $int = $value; )*

            /// Every `(name, code)` pair of the table, in declaration order.
            pub const ALL: &[(&str, $int)] = &[ $( (stringify!($name), $value), )* ];

            /// The Java constant name of `code`, if the table has it.
            pub fn name(code: $int) -> Option<&'static str> {
                ALL.iter().find(|(_, c)| *c == code).map(|(n, _)| *n)
            }

            #[cfg(test)]
            mod table_invariants {
                use std::collections::HashSet;

                #[test]
                fn names_and_codes_are_unique() {
                    let mut names = HashSet::new();
                    let mut codes = HashSet::new();
                    for (name, code) in super::ALL {
                        assert!(names.insert(*name), "duplicate name {name}");
                        assert!(codes.insert(*code), "duplicate code {code} ({name})");
                    }
                }
            }
        }
    };
}

mod language_code;
// The files are named after the tables; the modules get other names so that the tables
// themselves can be re-exported as `codes::request_code` and `codes::response_code`.
#[path = "request_code.rs"]
mod request_code_table;
#[path = "response_code.rs"]
mod response_code_table;

pub use language_code::LanguageCode;
pub use request_code_table::request_code;
pub use response_code_table::response_code;
