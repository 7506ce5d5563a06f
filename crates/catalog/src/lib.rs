//! The service catalog: Backstage descriptors read with positions, validated, related and stored; and the queries
//! that list, search and facet them.

pub mod browse;
pub mod descriptor;
pub mod entity;
pub mod fields;
pub mod golden_path;
pub mod graph;
pub mod index;
pub mod ingest;
pub mod people;
pub mod yaml;
