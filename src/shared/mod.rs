//! Plain value types that several layers speak (the engine, the store, the catalog), kept below
//! all of them so that none has to import another's types. Nothing here imports the rest of
//! the crate.

mod grants;
mod port;

pub use grants::Grants;
pub use port::PublishedPort;
