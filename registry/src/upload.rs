//! Upload sessions: each holds its repository, the bytes received so far (an
//! [`UploadBuffer`]) and the running digest. At most `max_upload_sessions` exist at once; one
//! left idle past `upload_idle_timeout` is dropped (its temp file with it). A request works
//! on a session under its lock, so two requests never interleave chunks; a second request
//! while one is in flight is refused rather than queued.

use crate::digest::Hasher;
use crate::error::RegistryError;
use crate::name::RepoName;
use crate::storage::{UploadBuffer, lock};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OwnedMutexGuard;

/// One upload in progress.
#[derive(Debug)]
pub(crate) struct Session {
    /// The repository it was started in.
    pub(crate) repo: RepoName,
    /// The bytes so far.
    pub(crate) buffer: UploadBuffer,
    /// The digest of the bytes so far.
    pub(crate) hasher: Hasher,
    /// How many bytes so far.
    pub(crate) offset_bytes: u64,
}

struct Entry {
    session: Arc<tokio::sync::Mutex<Session>>,
    last_used: Instant,
}

/// The table of open sessions.
pub(crate) struct Uploads {
    sessions: Mutex<HashMap<String, Entry>>,
    max_sessions: usize,
    idle_timeout: Duration,
}

/// A random id from the OS CSPRNG, UUID-shaped (`vcsim::secret::session_key`).
pub(crate) fn random_id() -> std::io::Result<String> {
    vcsim::secret::session_key().map_err(|e| std::io::Error::other(e.to_string()))
}

impl Uploads {
    pub(crate) fn new(max_sessions: usize, idle_timeout: Duration) -> Uploads {
        Uploads {
            sessions: Mutex::new(HashMap::new()),
            max_sessions,
            idle_timeout,
        }
    }

    /// Reserves room for a session (sweeping expired ones first), or `429`.
    pub(crate) fn check_room(&self, now: Instant) -> Result<(), RegistryError> {
        self.sweep(now);
        if lock(&self.sessions).len() >= self.max_sessions {
            return Err(RegistryError::TooManyUploads {
                max: self.max_sessions,
            });
        }
        Ok(())
    }

    /// Adds a session under `id`, already locked for the caller's request.
    pub(crate) fn insert(
        &self,
        id: String,
        session: Session,
        now: Instant,
    ) -> Result<OwnedMutexGuard<Session>, RegistryError> {
        let session = Arc::new(tokio::sync::Mutex::new(session));
        let guard = session
            .clone()
            .try_lock_owned()
            .map_err(|_| RegistryError::BlobUploadInvalid("session busy".into()))?;
        let mut map = lock(&self.sessions);
        if map.len() >= self.max_sessions {
            return Err(RegistryError::TooManyUploads {
                max: self.max_sessions,
            });
        }
        map.insert(
            id,
            Entry {
                session,
                last_used: now,
            },
        );
        Ok(guard)
    }

    /// Takes the session `id` of `repo` for one request.
    pub(crate) fn take(
        &self,
        id: &str,
        repo: &RepoName,
        now: Instant,
    ) -> Result<OwnedMutexGuard<Session>, RegistryError> {
        self.sweep(now);
        let mut map = lock(&self.sessions);
        let entry = map.get_mut(id).ok_or(RegistryError::BlobUploadUnknown)?;
        let guard = entry.session.clone().try_lock_owned().map_err(|_| {
            RegistryError::BlobUploadInvalid("another request is using this upload".into())
        })?;
        if &guard.repo != repo {
            return Err(RegistryError::BlobUploadUnknown);
        }
        entry.last_used = now;
        Ok(guard)
    }

    /// Marks the session used now (its idle time restarts when a request ends).
    pub(crate) fn touch(&self, id: &str, now: Instant) {
        if let Some(e) = lock(&self.sessions).get_mut(id) {
            e.last_used = now;
        }
    }

    /// Forgets a session (finished or cancelled).
    pub(crate) fn remove(&self, id: &str) {
        lock(&self.sessions).remove(id);
    }

    /// Drops idle sessions no request is using.
    pub(crate) fn sweep(&self, now: Instant) {
        let idle = self.idle_timeout;
        lock(&self.sessions).retain(|_, e| {
            let busy = e.session.try_lock().is_err();
            busy || now.saturating_duration_since(e.last_used) <= idle
        });
    }

    /// Sessions open now.
    pub(crate) fn len(&self) -> usize {
        lock(&self.sessions).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Session {
        Session {
            repo: RepoName::parse("library/a").expect("valid"),
            buffer: UploadBuffer::Memory(Vec::new()),
            hasher: Hasher::new(),
            offset_bytes: 0,
        }
    }

    #[test]
    fn sessions_are_bounded_and_expire_when_idle() {
        let t0 = Instant::now();
        let up = Uploads::new(2, Duration::from_secs(10));
        drop(up.insert("a".into(), session(), t0).expect("a"));
        drop(up.insert("b".into(), session(), t0).expect("b"));
        assert!(matches!(
            up.check_room(t0),
            Err(RegistryError::TooManyUploads { max: 2 })
        ));
        up.touch("b", t0 + Duration::from_secs(8));
        up.check_room(t0 + Duration::from_secs(11))
            .expect("a expired");
        assert_eq!(up.len(), 1);
        let repo = RepoName::parse("library/a").expect("valid");
        assert!(up.take("a", &repo, t0).is_err());
        assert!(up.take("b", &repo, t0 + Duration::from_secs(12)).is_ok());
    }

    #[test]
    fn a_busy_session_is_refused_and_never_swept() {
        let t0 = Instant::now();
        let up = Uploads::new(4, Duration::from_secs(1));
        let held = up.insert("a".into(), session(), t0).expect("a");
        let repo = RepoName::parse("library/a").expect("valid");
        assert!(matches!(
            up.take("a", &repo, t0),
            Err(RegistryError::BlobUploadInvalid(_))
        ));
        up.sweep(t0 + Duration::from_secs(60));
        assert_eq!(up.len(), 1);
        drop(held);
        let other = RepoName::parse("library/b").expect("valid");
        assert!(matches!(
            up.take("a", &other, t0),
            Err(RegistryError::BlobUploadUnknown)
        ));
    }
}
