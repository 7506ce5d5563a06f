//! Which database errors are faults of the environment rather than bugs: the server went away, the disk is full,
//! the file cannot be written. Callers turn them into answers a person can act on (503, 507) instead of an opaque
//! internal error.
//!
//! PostgreSQL's lost connections are told by diesel's error kind. SQLite reports its faults by result code, which
//! diesel passes on only as SQLite's own message (`sqlite3_errstr`), so those are told by that fixed text.

use diesel::result::{DatabaseErrorKind, Error};

/// An environmental fault of the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The server does not answer, or the connection to it was lost; it may come back by itself.
    Unavailable,
    /// No space left for the database (`SQLITE_FULL`, PostgreSQL's `53100 disk_full`).
    DiskFull,
    /// The database file (or its folder, its `-wal`/`-shm` files) cannot be written: a read-only file system or file
    /// (`SQLITE_READONLY`, PostgreSQL read-only transactions).
    ReadOnly,
    /// The storage under the database failed an operation (`SQLITE_IOERR`, `SQLITE_CANTOPEN`).
    Io,
}

impl Fault {
    /// The fault a diesel error stands for, if it is one.
    pub fn of(error: &Error) -> Option<Fault> {
        match error {
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => {
                Some(Fault::Unavailable)
            }
            Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => Some(Fault::ReadOnly),
            Error::DatabaseError(_, info) => Fault::in_message(info.message()),
            _ => None,
        }
    }

    /// The fault an error message names, for errors that reached the caller as text (wrapped in other errors, or
    /// from the pool while it connects).
    pub fn in_message(message: &str) -> Option<Fault> {
        let text = message.to_ascii_lowercase();
        let any = |needles: &[&str]| needles.iter().any(|n| text.contains(n));
        if any(&["database or disk is full", "no space left on device", "could not extend file"]) {
            Some(Fault::DiskFull)
        } else if any(&["attempt to write a readonly database", "read-only file system", "read-only transaction"]) {
            Some(Fault::ReadOnly)
        } else if any(&["disk i/o error", "unable to open database file"]) {
            Some(Fault::Io)
        } else if any(&[
            "server closed the connection",
            "terminating connection due to administrator command",
            "no connection to the server",
            "connection refused",
            "could not connect to server",
            "connection to server at",
            "the database system is shutting down",
            "the database system is starting up",
            "the database system is in recovery mode",
            "timed out waiting for connection",
            "could not receive data from server",
            "could not send data to server",
        ]) {
            Some(Fault::Unavailable)
        } else {
            None
        }
    }
}

impl crate::StoreError {
    /// The environmental fault behind this error, if it is one.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            crate::StoreError::Pool(e) => Some(Fault::in_message(&e.to_string()).unwrap_or(Fault::Unavailable)),
            crate::StoreError::Query(e) => Fault::of(e),
            crate::StoreError::Migration(message) => Fault::in_message(message),
            crate::StoreError::UnsupportedUrl(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_messages() {
        assert_eq!(Fault::in_message("database or disk is full"), Some(Fault::DiskFull));
        assert_eq!(Fault::in_message("attempt to write a readonly database"), Some(Fault::ReadOnly));
        assert_eq!(Fault::in_message("disk I/O error"), Some(Fault::Io));
        assert_eq!(
            Fault::in_message("FATAL:  terminating connection due to administrator command"),
            Some(Fault::Unavailable)
        );
        assert_eq!(
            Fault::in_message("connection to server at \"127.0.0.1\", port 1 failed: Connection refused"),
            Some(Fault::Unavailable)
        );
        assert_eq!(Fault::in_message("UNIQUE constraint failed: entities.entity_ref"), None);
        assert_eq!(Fault::of(&Error::NotFound), None);
    }
}
