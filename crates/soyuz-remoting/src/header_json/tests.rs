//! The hand-written reader against the serde reader it replaced, on generated headers:
//! valid ones in many shapes, and the same with bytes cut, flipped or inserted.

use proptest::prelude::*;

use crate::fuzzing::json_header_matches_serde;

/// A JSON string literal drawn from text that needs escapes now and then.
fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_%]{0,12}".prop_map(|s| format!("\"{s}\"")),
        any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
        prop::sample::select(vec![
            r#""\u00e9\ud83d\ude00""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\ud800""#,
            r#""\udc00x""#,
            r#""KEYS\u0001k\u0002TAGS\u0001t\u0002""#,
            "\"\u{1}\"",
        ])
        .prop_map(str::to_owned),
    ]
}

fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i32>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        prop::sample::select(vec![
            "-0", "0.5", "1e3", "1E-3", "-1.25e+2", "1e400", "01", "1.", "-", "256", "12",
        ])
        .prop_map(str::to_owned),
    ]
}

/// Any JSON value, a few levels deep.
fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        string_literal(),
        number_literal(),
        prop::sample::select(vec!["true", "false", "null"]).prop_map(str::to_owned),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec((string_literal(), inner), 0..4).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

/// A header: known keys with fitting or unfitting values, unknown keys, whitespace.
fn header() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "\"code\"",
            "\"language\"",
            "\"version\"",
            "\"opaque\"",
            "\"flag\"",
            "\"remark\"",
            "\"extFields\"",
            "\"serializeTypeCurrentRPC\"",
        ])
        .prop_map(str::to_owned),
        string_literal(),
    ];
    let ext_fields = prop::collection::vec((string_literal(), value()), 0..6).prop_map(|members| {
        let members: Vec<String> = members
            .into_iter()
            .map(|(k, v)| format!("{k}:{v}"))
            .collect();
        format!("{{{}}}", members.join(","))
    });
    let member_value = prop_oneof![value(), ext_fields, number_literal(), string_literal()];
    let space = prop::sample::select(vec!["", "", " ", "\n\t", "\r "]);
    prop::collection::vec((key, member_value, space), 0..8).prop_map(|members| {
        let members: Vec<String> = members
            .into_iter()
            .map(|(k, v, ws)| format!("{ws}{k}{ws}:{ws}{v}{ws}"))
            .collect();
        format!("{{{}}}", members.join(","))
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn generated_headers_read_alike(header in header()) {
        json_header_matches_serde(header.as_bytes());
    }

    #[test]
    fn damaged_headers_read_alike(
        header in header(),
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        how in 0..3u8,
    ) {
        let mut bytes = header.into_bytes();
        let i = at.index(bytes.len() + 1);
        match how {
            0 => bytes.truncate(i),
            1 if i < bytes.len() => bytes[i] = byte,
            _ => bytes.insert(i, byte),
        }
        json_header_matches_serde(&bytes);
    }
}

#[test]
fn a_java_send_header_reads_into_its_fields() {
    let header = br#"{"code":310,"extFields":{"a":"G","b":"TopicTest","i":"KEYS\u0001k\u0002"},"flag":0,"language":"JAVA","opaque":7,"serializeTypeCurrentRPC":"JSON","version":479}"#;
    let command = super::decode(header).expect("decodes");
    assert_eq!(
        (command.code, command.opaque, command.version),
        (310, 7, 479)
    );
    assert_eq!(command.language, crate::codes::LanguageCode::JAVA);
    assert_eq!(command.ext_fields.get("b"), Some("TopicTest"));
    assert_eq!(command.ext_fields.get("i"), Some("KEYS\u{1}k\u{2}"));
    assert_eq!(json_header_matches_serde(header), 1);
}
