//! SessionManager: Login, LoginByToken, Logout, SessionIsActive, TerminateSession,
//! AcquireCloneTicket and CloneSession.
//!
//! Every session has a public key (what `UserSession.key`, the session list, events and
//! `SessionIsActive`/`TerminateSession` use) and a separate secret cookie, the only thing
//! that authenticates a later request (see [`crate::session`]).

use super::{Args, CallContext};
use crate::config::Flavor;
use crate::emulator::Emulator;
use crate::events::EventArgs;
use crate::session::Session;
use crate::soap::Call;
use crate::vmodl::{Fault, Value};

/// `Login(userName, password, locale)`: the configured credentials, or `InvalidLogin`.
pub fn login(
    emu: &mut Emulator,
    ctx: &mut CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let user = args.text("userName")?;
    let password = args.opt_text("password").unwrap_or("");
    if ctx
        .session
        .as_deref()
        .is_some_and(|k| emu.sessions.get(k).is_some())
    {
        // vCenter refuses a second Login on a logged-in session.
        return Err(Fault::invalid_login());
    }
    if !emu.config.accepts_login(user, password) {
        return Err(Fault::invalid_login());
    }
    let value = start_session(emu, ctx, user.to_owned())?;
    post_login_event(emu, ctx, user);
    Ok(Some(value))
}

/// vCenter's `UserLoginSessionEvent` for the session just started on `ctx`.
fn post_login_event(emu: &mut Emulator, ctx: &CallContext, user: &str) {
    let key = ctx.session.clone().unwrap_or_default();
    emu.events.post(
        "UserLoginSessionEvent",
        emu.clock.now_ms(),
        user,
        &EventArgs::default(),
        format!("User {user}@{} logged in as {}", ctx.peer, ctx.user_agent),
        vec![
            ("ipAddress", Value::str(ctx.peer.clone())),
            ("userAgent", Value::str(ctx.user_agent.clone())),
            ("locale", Value::str("en")),
            ("sessionId", Value::str(key)),
        ],
    );
}

/// A new session for `user` on this connection: a public key (what the session list and
/// `currentSession` show) and a separate secret cookie (sent back in `Set-Cookie`, the only
/// thing that authenticates later calls). Returns the `UserSession`.
fn start_session(emu: &mut Emulator, ctx: &mut CallContext, user: String) -> Result<Value, Fault> {
    let now = emu.clock.now_ms();
    let key = new_session_key()?;
    let cookie = new_session_key()?;
    let s = Session {
        key: key.clone(),
        cookie: cookie.clone(),
        user,
        login_ms: now,
        last_active_ms: now,
        last_active_at: std::time::Instant::now(),
        user_agent: ctx.user_agent.clone(),
        ip_address: ctx.peer.clone(),
        call_count: 0,
    };
    let value = s.to_value();
    add_session(emu, s)?;
    ctx.session = Some(key);
    ctx.set_cookie = Some(cookie);
    Ok(value)
}

/// `LoginByToken(locale?)`: vCenter's login with a SAML token from its STS, carried in the
/// request's `wsse:Security` header. The token is the one this emulator's STS issued
/// ([`crate::endpoints::sts`]): its assertion `ID` is looked up in the STS's registry, and a
/// live one makes a session for the user it was issued to. An unknown, altered or expired
/// token, a request without one, or a connection already logged in gets `InvalidLogin`, as
/// vCenter answers (vcsim, by contrast, accepts any token's subject unverified — a login
/// without a password, which this emulator refuses to be).
pub fn login_by_token(
    emu: &mut Emulator,
    ctx: &mut CallContext,
    call: &Call,
) -> Result<Option<Value>, Fault> {
    if ctx
        .session
        .as_deref()
        .is_some_and(|k| emu.sessions.get(k).is_some())
    {
        return Err(Fault::invalid_login());
    }
    let now_wall_ms = crate::endpoints::sts::wall_now_ms();
    let user = call
        .security_token_id()
        .and_then(|id| emu.side.sts.user_of(id, now_wall_ms))
        .map(str::to_owned)
        .ok_or_else(Fault::invalid_login)?;
    let value = start_session(emu, ctx, user.clone())?;
    post_login_event(emu, ctx, &user);
    Ok(Some(value))
}

/// A fresh session key from the OS CSPRNG (a `SystemError` fault if the OS has none to give).
fn new_session_key() -> Result<String, Fault> {
    crate::secret::session_key().map_err(|e| Fault::new("SystemError", e.to_string()))
}

/// Adds a session, first ending the least recently active one when the bound is reached, so
/// that abandoned sessions can never lock honest clients out.
fn add_session(emu: &mut Emulator, s: Session) -> Result<(), Fault> {
    while emu.sessions.is_full() {
        let Some(oldest) = emu.sessions.least_recently_active() else {
            break;
        };
        end_session(emu, &oldest);
    }
    if emu.sessions.insert(s) {
        Ok(())
    } else {
        Err(Fault::new("InvalidState", "Too many sessions"))
    }
}

fn end_session(emu: &mut Emulator, key: &str) {
    if let Some(s) = emu.sessions.remove(key) {
        for gone in emu.collectors.drop_session(key) {
            emu.inv.remove(&gone);
        }
        emu.events.post(
            "UserLogoutSessionEvent",
            emu.clock.now_ms(),
            &s.user,
            &EventArgs::default(),
            format!("User {}@{} logged out", s.user, s.ip_address),
            vec![
                ("ipAddress", Value::str(s.ip_address.clone())),
                ("userAgent", Value::str(s.user_agent.clone())),
                ("callCount", Value::Long(s.call_count)),
                ("sessionId", Value::str(s.key.clone())),
                ("loginTime", Value::DateTime(s.login_ms)),
            ],
        );
    }
}

/// `Logout`: ends the session and drops its views, filters and collectors.
pub fn logout(emu: &mut Emulator, ctx: &mut CallContext) -> Result<Option<Value>, Fault> {
    if let Some(key) = ctx.session.take() {
        end_session(emu, &key);
    }
    Ok(None)
}

/// `SessionIsActive(sessionID, userName)`: vCenter only (ESXi answers NotImplemented).
pub fn session_is_active(emu: &Emulator, args: &Args<'_>) -> Result<Option<Value>, Fault> {
    if emu.flavor == Flavor::HostAgent {
        return Err(Fault::new(
            "NotImplemented",
            "SessionIsActive is not implemented on ESXi",
        ));
    }
    let id = args.text("sessionID")?;
    let user = args.text("userName")?;
    Ok(Some(Value::Bool(
        emu.sessions.get(id).is_some_and(|s| s.user == user),
    )))
}

/// `TerminateSession(sessionId[])`: ending one's own session is `InvalidArgument`, an unknown
/// id `NotFound`.
pub fn terminate_session(
    emu: &mut Emulator,
    ctx: &CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let ids: Vec<String> = args
        .texts("sessionId")
        .into_iter()
        .map(str::to_owned)
        .collect();
    for id in &ids {
        if Some(id.as_str()) == ctx.session.as_deref() {
            return Err(Fault::invalid_argument("sessionId"));
        }
        if emu.sessions.get(id).is_none() {
            return Err(Fault::not_found_plain(format!("Session {id} not found")));
        }
    }
    for id in ids {
        end_session(emu, &id);
    }
    Ok(None)
}

/// Most outstanding clone tickets (the oldest is dropped beyond it).
pub const CLONE_TICKETS_MAX: usize = 1024;

/// How long a clone ticket stays valid (virtual clock).
pub const CLONE_TICKET_TTL_MS: i64 = 10 * 60 * 1000;

/// The OptionManager key holding the idle session timeout in seconds (unset or 0: none).
pub const SESSION_TIMEOUT_KEY: &str = "config.vmacore.soap.sessionTimeout";

/// `AcquireCloneTicket`: a single-use ticket for CloneSession, as the calling user.
pub fn acquire_clone_ticket(emu: &mut Emulator, ctx: &CallContext) -> Result<Option<Value>, Fault> {
    let user = super::user_of(emu, ctx);
    let now = emu.clock.now_ms();
    emu.clone_tickets
        .retain(|_, (_, at)| now - *at <= CLONE_TICKET_TTL_MS);
    while emu.clone_tickets.len() >= CLONE_TICKETS_MAX {
        let oldest = emu
            .clone_tickets
            .iter()
            .min_by_key(|(_, (_, at))| *at)
            .map(|(k, _)| k.clone());
        match oldest {
            Some(k) => {
                emu.clone_tickets.remove(&k);
            }
            None => break,
        }
    }
    let ticket =
        crate::secret::clone_ticket().map_err(|e| Fault::new("SystemError", e.to_string()))?;
    emu.clone_tickets.insert(ticket.clone(), (user, now));
    Ok(Some(Value::str(ticket)))
}

/// `CloneSession(cloneTicket)`: a new session for the ticket's user (the ticket is used
/// up); `InvalidLogin` for an unknown, used or expired ticket, or on a logged-in connection.
pub fn clone_session(
    emu: &mut Emulator,
    ctx: &mut CallContext,
    args: &Args<'_>,
) -> Result<Option<Value>, Fault> {
    let ticket = args.text("cloneTicket")?;
    if ctx.session.is_some() {
        return Err(Fault::invalid_login());
    }
    let now = emu.clock.now_ms();
    let Some((user, at)) = emu.clone_tickets.remove(ticket) else {
        return Err(Fault::invalid_login());
    };
    if now - at > CLONE_TICKET_TTL_MS {
        return Err(Fault::invalid_login());
    }
    start_session(emu, ctx, user).map(Some)
}

/// The idle session timeout in milliseconds, when one is configured.
pub fn session_timeout_ms(emu: &Emulator) -> Option<i64> {
    let secs = emu
        .inv
        .prop(&emu.refs.setting, "setting")?
        .items()
        .iter()
        .find(|v| v.field("key").and_then(Value::as_str) == Some(SESSION_TIMEOUT_KEY))?
        .field("value")?
        .as_i64()?;
    (secs > 0).then(|| secs.saturating_mul(1000))
}

/// Ends every session idle for longer than its timeout: the server's wall-clock idle timeout
/// ([`crate::Config::session_idle_timeout_s`], vCenter's 30 minutes by default) and, when
/// the OptionManager sets one, ESXi's `sessionTimeout` on the virtual clock. The calling
/// session, if it was one of them, is no longer the call's.
pub fn expire_idle_sessions(emu: &mut Emulator, ctx: &mut CallContext) {
    let mut idle: Vec<String> = Vec::new();
    let wall_s = emu.config.session_idle_timeout_s;
    if wall_s > 0 {
        idle = emu.sessions.idle_keys(
            ctx.session.as_deref(),
            std::time::Duration::from_secs(wall_s),
            std::time::Instant::now(),
        );
    }
    if let Some(limit) = session_timeout_ms(emu) {
        let now = emu.clock.now_ms();
        idle.extend(
            emu.sessions
                .iter()
                .filter(|s| now - s.last_active_ms > limit)
                .map(|s| s.key.clone()),
        );
    }
    for k in idle {
        if ctx.session.as_deref() == Some(k.as_str()) {
            ctx.session = None;
        }
        end_session(emu, &k);
    }
}
