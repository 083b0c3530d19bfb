//! The API's line in the status bar, from the heartbeat `serve` writes into the store.

use crate::domain::api_status::{ApiHealth, api_health};

use super::App;
use super::format::age;

/// What the status bar says about the API, and whether it is bad news.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFact {
    pub text: String,
    /// The same for a narrow screen (80 columns): no address.
    pub short: String,
    pub alarm: bool,
}

impl App {
    /// `None` when no `serve` ever ran on this store: nothing to say.
    pub fn api_fact(&self) -> Option<ApiFact> {
        match api_health(self.api.as_ref(), self.now) {
            ApiHealth::Never => None,
            ApiHealth::Up(s) => {
                let mut text = format!(
                    "API {} · {} req/min · {} err",
                    s.listen, s.requests_per_min, s.errors_per_min
                );
                let mut short = format!("API {}/min {} err", s.requests_per_min, s.errors_per_min);
                if s.queue_length > 0 {
                    text.push_str(&format!(" · queue {}", s.queue_length));
                    short.push_str(&format!(" q {}", s.queue_length));
                }
                Some(ApiFact {
                    text,
                    short,
                    alarm: s.errors_per_min > 0,
                })
            }
            ApiHealth::Down {
                last_seen, stopped, ..
            } => Some(ApiFact {
                short: format!("API down {}", age(last_seen, self.now)),
                text: if stopped {
                    format!("API stopped {} ago", age(last_seen, self.now))
                } else {
                    format!("API down (last seen {} ago)", age(last_seen, self.now))
                },
                alarm: true,
            }),
        }
    }

    /// The API's text as it would be drawn now, for knowing when a tick must redraw.
    pub(super) fn api_text(&self) -> String {
        self.api_fact().map(|f| f.text).unwrap_or_default()
    }
}
