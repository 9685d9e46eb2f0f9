//! TEMPORARY placeholder until the IndexFile lands (being written in parallel).
#![allow(missing_docs, unused_variables)]
use crate::error::StoreError;
use crate::io::StoreFs;
use std::path::Path;
use std::sync::Arc;
pub struct QueryOffsets {
    pub phy_offsets: Vec<u64>,
    pub index_last_update_timestamp: i64,
    pub index_last_update_phyoffset: i64,
}
pub struct IndexService;
impl IndexService {
    pub fn open(fs: Arc<dyn StoreFs>, dir: &Path, a: u32, b: u32) -> Result<Self, StoreError> {
        Ok(Self)
    }
    pub fn build_index(
        &self,
        topic: &str,
        keys: &[&str],
        unique_key: Option<&str>,
        phy_offset: u64,
        store_timestamp: i64,
    ) -> Result<(), StoreError> {
        Ok(())
    }
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<QueryOffsets, StoreError> {
        Ok(QueryOffsets {
            phy_offsets: vec![],
            index_last_update_timestamp: 0,
            index_last_update_phyoffset: 0,
        })
    }
    pub fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
    pub fn delete_files_below(&self, m: u64) -> Result<usize, StoreError> {
        Ok(0)
    }
}
