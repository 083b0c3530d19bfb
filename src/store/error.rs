use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open store {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error("cannot prepare store folder {path}: {source}")]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "store {path} has schema version {found}, newer than this ctfdeck understands ({supported}); upgrade ctfdeck"
    )]
    TooNew {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error("no instance matches {0:?}")]
    NotFound(String),
    #[error("an instance id (or a unique prefix of one) is needed, not an empty string")]
    EmptyPrefix,
    #[error("instance prefix {prefix:?} is ambiguous: {candidates}")]
    Ambiguous { prefix: String, candidates: String },
    #[error("instance id {0} is already taken")]
    IdTaken(String),
    #[error("store query failed: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("store holds malformed data: {0}")]
    Corrupt(String),
}
