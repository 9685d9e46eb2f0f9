//! [`RemotingCommand`], the unit of every Remoting conversation.

use bytes::Bytes;

use crate::codes::{response_code, LanguageCode};
use crate::headers::CommandHeader;

pub use crate::ext_fields::ExtFields;

/// Flag bit 0: this command is a response.
pub const FLAG_RESPONSE: i32 = 0b01;
/// Flag bit 1: this request expects no response.
pub const FLAG_ONEWAY: i32 = 0b10;

/// The version our side reports (`MQVersion.CURRENT_VERSION` of RocketMQ 5.3.3).
/// Peers gate behaviour on it, e.g. standard JSON route data from V4_9_4 (401) on.
pub const CURRENT_VERSION: i32 = 479;

/// How a command's header is serialized (high byte of the header-length word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SerializeType {
    /// A JSON object (type byte 0); what Java clients send by default.
    #[default]
    Json,
    /// RocketMQ's compact binary header (type byte 1).
    RocketMq,
}

impl SerializeType {
    /// The type byte on the wire.
    pub fn code(self) -> u8 {
        match self {
            SerializeType::Json => 0,
            SerializeType::RocketMq => 1,
        }
    }

    /// The type for a wire byte, if it is one of the two known.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(SerializeType::Json),
            1 => Some(SerializeType::RocketMq),
            _ => None,
        }
    }
}

/// A request or response as it travels on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemotingCommand {
    /// Request code for requests, response code for responses.
    pub code: i32,
    /// The sender's language.
    pub language: LanguageCode,
    /// The sender's `MQVersion` ordinal.
    pub version: i32,
    /// Request id chosen by the requester; a response echoes it.
    pub opaque: i32,
    /// Bit 0 = response, bit 1 = oneway.
    pub flag: i32,
    /// Free text, mostly an error message on responses.
    pub remark: Option<Box<str>>,
    /// Header fields as strings.
    pub ext_fields: ExtFields,
    /// Opaque payload; its meaning depends on the code.
    pub body: Bytes,
    /// How the header was (or will be) serialized.
    pub serialize_type: SerializeType,
}

impl RemotingCommand {
    /// A new request with `code` and our language and version. The opaque is set by the
    /// transport when the request is sent.
    pub fn request(code: i32) -> Self {
        Self {
            code,
            language: LanguageCode::RUST,
            version: CURRENT_VERSION,
            ..Self::default()
        }
    }

    /// A request with a typed header.
    pub fn request_with_header(code: i32, header: &impl CommandHeader) -> Self {
        let mut command = Self::request(code);
        command.ext_fields = header.to_ext_fields();
        command
    }

    /// A response to `request` with `code` and `remark`, mirroring the request's opaque
    /// and header encoding.
    ///
    /// The language is JAVA: fastjson in older Java clients cannot parse enum names added
    /// after their release, and nothing reads the responder's language.
    pub fn response_to(request: &RemotingCommand, code: i32, remark: Option<String>) -> Self {
        Self {
            code,
            language: LanguageCode::JAVA,
            version: CURRENT_VERSION,
            opaque: request.opaque,
            flag: FLAG_RESPONSE,
            remark: remark.map(String::into_boxed_str),
            ext_fields: ExtFields::new(),
            body: Bytes::new(),
            serialize_type: request.serialize_type,
        }
    }

    /// A SUCCESS response to `request`.
    pub fn success(request: &RemotingCommand) -> Self {
        Self::response_to(request, response_code::SUCCESS, None)
    }

    /// An error response to `request` with a remark explaining it.
    pub fn error(request: &RemotingCommand, code: i32, remark: impl Into<String>) -> Self {
        Self::response_to(request, code, Some(remark.into()))
    }

    /// Sets the body, returning the command.
    pub fn with_body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets the typed header, returning the command.
    pub fn with_header(mut self, header: &impl CommandHeader) -> Self {
        self.ext_fields = header.to_ext_fields();
        self
    }

    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flag & FLAG_RESPONSE != 0
    }

    /// Whether this is a oneway request (the peer must not answer it).
    pub fn is_oneway(&self) -> bool {
        self.flag & FLAG_ONEWAY != 0
    }

    /// Marks this request as oneway.
    pub fn mark_oneway(&mut self) {
        self.flag |= FLAG_ONEWAY;
    }

    /// Decodes the typed header from `ext_fields`.
    pub fn decode_header<H: CommandHeader>(&self) -> Result<H, crate::HeaderError> {
        H::from_ext_fields(&self.ext_fields)
    }

    /// One ext field, if present.
    pub fn ext(&self, key: &str) -> Option<&str> {
        self.ext_fields.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_mirrors_opaque_and_serialize_type() {
        let mut request = RemotingCommand::request(105);
        request.opaque = 77;
        request.serialize_type = SerializeType::RocketMq;
        let response = RemotingCommand::error(&request, 17, "No topic route info");
        assert!(response.is_response());
        assert!(!response.is_oneway());
        assert_eq!(response.opaque, 77);
        assert_eq!(response.serialize_type, SerializeType::RocketMq);
        assert_eq!(response.remark.as_deref(), Some("No topic route info"));
    }

    #[test]
    fn oneway_flag_is_bit_one() {
        let mut request = RemotingCommand::request(15);
        request.mark_oneway();
        assert_eq!(request.flag, 2);
        assert!(request.is_oneway());
        assert!(!request.is_response());
    }
}
