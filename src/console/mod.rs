//! The console: the live full-screen view staff keep open. Producers feed one event channel;
//! one loop applies events to the state and draws only when something visible changed.

pub mod event;
pub mod keys;
pub mod state;
pub mod theme;
