//! why409: explains HTTP 409 / 412 / 423 / 428 conflicts from API-gateway access logs.
//!
//! The library is the whole analysis; the binary (`src/main.rs`) only parses flags, renders
//! and maps errors to exit codes. Data flow: `input` → `format` → `analyze` (a conflict
//! `scan`, then one pass over memory-mapped inputs, `aggregate` and `timeline`) → `detect`
//! → `report`.

pub mod agent;
pub mod aggregate;
pub mod analyze;
pub mod bytes;
pub mod cli;
pub mod client;
pub mod compressed;
pub mod detect;
pub mod file_period;
pub mod format;
pub mod gunzip;
pub mod huge_pages;
pub mod input;
pub mod interest;
pub mod key_table;
pub mod line_numbers;
pub mod memory;
pub mod name_list;
pub mod names;
pub mod page_cache;
pub mod per_second;
pub mod prefetch;
pub mod progress;
pub mod record;
pub mod report;
pub mod resource;
pub mod scan;
pub mod seek;
pub mod short_names;
pub mod sink;
pub mod timeline;
pub mod timestamp;
pub mod unexplained;
