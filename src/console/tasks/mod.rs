//! The producers: each runs on its own and sends [`Event`](super::event::Event)s into the one
//! channel. None of them touches the state.

pub mod catalog;
pub mod cgroup_stats;
pub mod engine;
pub mod input;
pub mod logs;
pub mod nodes;
pub mod shared_catalog;
pub mod shared_engine;
pub mod shared_stats;
pub mod shared_store;
pub mod stats;
pub mod store;
