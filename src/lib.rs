//! ctfdeck: run CTF challenge instances on a real container engine, from a console or the CLI.

pub mod api;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod console;
pub mod domain;
pub mod engine;
pub mod shared;
pub mod ssh;
pub mod store;
pub mod terminal_text;
pub mod textfile;
