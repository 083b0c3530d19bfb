//! One SSH connection: public-key authentication against the staff table, one session
//! channel with a pty and a shell request — which starts the console — and a refusal for
//! everything else a client may ask (commands, subsystems, forwarding, agent, X11).

use std::net::SocketAddr;
use std::sync::Arc;

use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, PublicKeyOffer, Session};
use russh::server::{Server, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure};

use super::Shared;
use super::screen::clamp_size;
use super::session::{self, SessionStart};
use super::staff::StaffMember;

/// Said on stderr to a client that asks for anything but the console.
const ONLY_THE_CONSOLE: &str =
    "ctfdeck: this server serves only the console; connect with `ssh -t` and no command\r\n";

pub(crate) struct Acceptor {
    pub shared: Arc<Shared>,
}

impl Server for Acceptor {
    type Handler = Connection;

    fn new_client(&mut self, peer: Option<SocketAddr>) -> Connection {
        Connection {
            shared: self.shared.clone(),
            peer,
            staff: None,
            channel: None,
            size: None,
            started: false,
        }
    }

    fn handle_session_error(&mut self, error: russh::Error) {
        tracing::debug!("SSH connection ended: {error}");
    }
}

pub(crate) struct Connection {
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
    /// Who authenticated on this connection.
    staff: Option<StaffMember>,
    /// The session channel, until its shell request hands it to the console.
    channel: Option<Channel<Msg>>,
    /// The window size from the pty request.
    size: Option<ratatui::layout::Size>,
    /// A console already runs on this connection.
    started: bool,
}

impl Connection {
    fn peer_text(&self) -> String {
        self.peer
            .map_or_else(|| "an unknown address".to_string(), |p| p.ip().to_string())
    }

    fn is_ours(&self, id: ChannelId) -> bool {
        self.channel.as_ref().is_some_and(|c| c.id() == id)
    }

    /// Refuse a request on a channel, saying why on the client's stderr, and log it.
    fn refuse(&self, id: ChannelId, what: &str, session: &mut Session) -> Result<(), russh::Error> {
        self.log_refused(what);
        session.extended_data(id, 1, ONLY_THE_CONSOLE.as_bytes().to_vec())?;
        session.channel_failure(id)?;
        session.close(id)
    }

    /// A request refused without ending the session (forwarding the client asked for along
    /// with the console).
    fn log_refused(&self, what: &str) {
        tracing::warn!(
            "SSH: refused {what} from {} ({})",
            self.staff.as_ref().map_or("?", |s| s.name.as_str()),
            self.peer_text()
        );
    }

    fn log_unknown_key(&self, key: &russh::keys::PublicKey) {
        let Some(peer) = self.peer else { return };
        if let Some(quiet) = self
            .shared
            .refusals
            .should_log(peer.ip(), std::time::Instant::now())
        {
            let more = if quiet > 0 {
                format!(" ({quiet} more refused from there in the last minute)")
            } else {
                String::new()
            };
            eprintln!(
                "{} SSH: refused unknown key {} from {}{more}",
                crate::domain::view::rfc3339(crate::store::now_millis()),
                key.fingerprint(russh::keys::HashAlg::Sha256),
                peer.ip()
            );
        }
    }
}

impl Handler for Connection {
    type Error = russh::Error;

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.shared.staff().find(offer.public_key).is_some() {
            Ok(Auth::Accept)
        } else {
            self.log_unknown_key(offer.public_key);
            Ok(Auth::reject())
        }
    }

    async fn auth_publickey(
        &mut self,
        _user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        // Looked up again: the table may have been reloaded since the offer.
        match self.shared.staff().find(key.public_key) {
            Some(member) => {
                self.staff = Some(member.clone());
                Ok(Auth::Accept)
            }
            None => {
                self.log_unknown_key(key.public_key);
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(member) = &self.staff {
            println!(
                "{} SSH: {} ({}) connected from {}",
                crate::domain::view::rfc3339(crate::store::now_millis()),
                member.name,
                member.role.as_str(),
                self.peer_text()
            );
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // One console per connection; more channels would be more consoles past the limit.
        if self.channel.is_some() || self.started {
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        }
        reply.accept().await;
        self.channel = Some(channel);
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if !self.is_ours(channel) {
            return session.channel_failure(channel);
        }
        self.size = Some(clamp_size(col_width, row_height));
        session.channel_success(channel)
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let (Some(member), true) = (self.staff.clone(), self.is_ours(channel)) else {
            return session.channel_failure(channel);
        };
        let Some(size) = self.size else {
            session.extended_data(
                channel,
                1,
                b"ctfdeck: the console needs a terminal; connect with `ssh -t`\r\n".to_vec(),
            )?;
            session.channel_failure(channel)?;
            return session.close(channel);
        };
        let Ok(permit) = self.shared.sessions.clone().try_acquire_owned() else {
            let text = format!(
                "ctfdeck: {} consoles are open already (max_sessions); try again later\r\n",
                self.shared.max_sessions
            );
            tracing::warn!("SSH: {} turned away: session limit reached", member.name);
            session.extended_data(channel, 1, text.into_bytes())?;
            session.channel_failure(channel)?;
            return session.close(channel);
        };
        let Some(chan) = self.channel.take() else {
            return session.channel_failure(channel);
        };
        self.started = true;
        session.channel_success(channel)?;
        let start = SessionStart {
            channel: chan,
            size,
            member,
            peer: self.peer,
            shared: self.shared.clone(),
            permit,
        };
        tokio::spawn(session::run(start));
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, "a command", session)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let what = format!(
            "the subsystem {:?}",
            name.chars().take(40).collect::<String>()
        );
        self.refuse(channel, &what, session)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Refused, not the session: the console goes on without it.
        self.log_refused("X11 forwarding");
        session.channel_failure(channel)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _variable_name: &str,
        _variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        // The server never opens an agent channel back to the client: the staff member's
        // keys stay on their machine.
        self.log_refused("agent forwarding");
        Ok(false)
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        tracing::warn!(
            "SSH: refused forwarding to {}:{port_to_connect} from {}",
            host_to_connect.chars().take(80).collect::<String>(),
            self.peer_text()
        );
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::AdministrativelyProhibited)
            .await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::warn!(
            "SSH: refused remote forwarding of {}:{port} from {}",
            address.chars().take(80).collect::<String>(),
            self.peer_text()
        );
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        _socket_path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }
}
