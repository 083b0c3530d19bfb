#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("container engine unreachable at {target}: {reason}")]
    Unreachable { target: String, reason: String },
    #[error("image {image} is not present on the engine; run `ctfdeck build` for its challenge")]
    ImageMissing { image: String },
    #[error("building {tag} failed: {message}")]
    Build { tag: String, message: String },
    #[error("cannot read build context {path}: {source}")]
    Context {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("subnet {subnet} overlaps an existing network")]
    SubnetTaken { subnet: String },
    #[error("{action}: {source}")]
    Api {
        action: String,
        #[source]
        source: Box<bollard::errors::Error>,
    },
    #[error("{0}")]
    Unexpected(String),
    /// A Swarm service whose task did not reach `running`, with the task's own reason.
    #[error("service {service} did not start: {reason}")]
    NotStarted { service: String, reason: String },
    /// The engine answers but cannot apply what every instance needs.
    #[error("refusing to run instances on {target}: {reason}")]
    Refused { target: String, reason: String },
    #[error(
        "cannot pull image {image}: {message} (is its registry reachable from the engine? a local image must be built or loaded first)"
    )]
    Pull { image: String, message: String },
}

impl EngineError {
    /// The engine answered "no such object" (the container or network is gone).
    pub fn is_gone(&self) -> bool {
        matches!(self, EngineError::Api { source, .. } if is_not_found(source))
    }

    /// The engine could not be reached: at connect time, or a request that never got an
    /// answer (connection refused or cut, socket gone, timeout). Not an answer it gave.
    pub fn is_unreachable(&self) -> bool {
        match self {
            EngineError::Unreachable { .. } => true,
            EngineError::Api { source, .. } => matches!(
                **source,
                bollard::errors::Error::IOError { .. }
                    | bollard::errors::Error::HyperResponseError { .. }
                    | bollard::errors::Error::HyperLegacyError { .. }
                    | bollard::errors::Error::RequestTimeoutError
                    | bollard::errors::Error::SocketNotFoundError(_)
            ),
            _ => false,
        }
    }

    pub(crate) fn api(action: impl Into<String>) -> impl FnOnce(bollard::errors::Error) -> Self {
        let action = action.into();
        move |source| EngineError::Api {
            action,
            source: Box::new(source),
        }
    }
}

/// True for the engine's "no such object" answer.
pub(crate) fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}
