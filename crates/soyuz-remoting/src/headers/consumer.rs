//! Consumer headers; filled in by the consumer milestone.
