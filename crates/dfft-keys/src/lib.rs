//! The log's key files: creation (exclusive, never through a symbolic link,
//! mode 0600 from the first byte, durable) and loading.
//!
//! Creation writes `KEY.tmp` with an exclusive create, fsyncs it, links it
//! to `KEY` (which fails if `KEY` exists, so a key is never overwritten;
//! where the file system has no hard links, renames it after checking that
//! `KEY` is still absent), removes `KEY.tmp` and fsyncs the directory. An exclusive create
//! (`O_CREAT|O_EXCL`) fails on any existing path, a symbolic link included,
//! whatever it points to; so no key byte is ever written through a link
//! someone else placed. A leftover `KEY.tmp` (an interrupted write, or
//! another process writing the same key) or a link at `KEY` is refused
//! with an error naming the file. Loading follows symbolic links (secret
//! stores mount key files that way); it is only writing that refuses them.
//! Windows, where there is no mode, is left out.

//!
//! Also the clock ([`timestamp_now`]): the pure core has none, and both the
//! server (the genesis it signs) and the command line (statements it signs)
//! need the same one.

use dfft_core::note::{KeyKind, KeyName, SignerKey};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Key file errors.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Reading or writing failed.
    #[error("{path}: {source}")]
    Io {
        /// File.
        path: String,
        /// Cause.
        source: std::io::Error,
    },
    /// The file does not hold a valid private key.
    #[error("{path}: {message}")]
    Invalid {
        /// File.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A key file is already there; keys are never overwritten.
    #[error("{path} exists; not overwriting a key (move it away first if it is to be replaced)")]
    Exists {
        /// File.
        path: String,
    },
    /// A symbolic link where a key file is to be written.
    #[error("{path} is a symbolic link; refusing to write a key through it (remove the link, or give the real path of the key file)")]
    Symlink {
        /// The link.
        path: String,
    },
    /// A temporary file of an earlier key write is still there.
    #[error("{path} exists: an interrupted key write left it, or another process is writing this key; make sure no other dfft process is running, then remove it and retry")]
    LeftoverTemp {
        /// The temporary file.
        path: String,
    },
}

/// 32 random bytes from the operating system.
pub fn random_seed() -> Result<[u8; 32], KeyError> {
    let mut seed = [0u8; 32];
    getrandom::getrandom(&mut seed).map_err(|e| KeyError::Io {
        path: "(os random)".into(),
        source: std::io::Error::other(e.to_string()),
    })?;
    Ok(seed)
}

/// Loads a private-key file.
pub fn load(path: &Path) -> Result<SignerKey, KeyError> {
    let s = std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.display().to_string(),
        source,
    })?;
    SignerKey::parse(s.trim()).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        message: e.to_string(),
    })
}

/// Loads `path`, or creates it with a new key named `name` if it is missing.
/// Returns the key and whether it was created. A dangling symbolic link at
/// `path` is refused, not written through.
pub fn load_or_create(path: &Path, name: &str) -> Result<(SignerKey, bool), KeyError> {
    load_or_create_kind(path, name, KeyKind::Ed25519)
}

/// [`load_or_create`] for a key of any kind (a witness's Ed25519
/// `cosignature/v1` or ML-DSA-44 `subtree/v1` key, say): a new key is made
/// from 32 random bytes (the Ed25519 seed, or the ML-DSA-44 seed xi). An
/// existing file holding a key of another kind is refused.
pub fn load_or_create_kind(
    path: &Path,
    name: &str,
    kind: KeyKind,
) -> Result<(SignerKey, bool), KeyError> {
    if path.exists() {
        let key = load(path)?;
        if key.kind() != kind {
            return Err(KeyError::Invalid {
                path: path.display().to_string(),
                message: format!("holds a {:?} key, expected a {kind:?} key", key.kind()),
            });
        }
        return Ok((key, false));
    }
    let name = KeyName::new(name).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let key = SignerKey::from_seed_kind(name, kind, random_seed()?);
    write_secret(path, &key.to_private_string())?;
    Ok((key, true))
}

/// The temporary file a key write to `path` goes through: `path` + `.tmp`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// Refuses `path` if anything, a symbolic link included, is there.
fn refuse_existing(path: &Path, exists: fn(String) -> KeyError) -> Result<(), KeyError> {
    let shown = path.display().to_string();
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(KeyError::Symlink { path: shown }),
        Ok(_) => Err(exists(shown)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(KeyError::Io {
            path: shown,
            source,
        }),
    }
}

/// Writes a new secret file (a line of `content`) with mode 0600 from its
/// creation: exclusive create of `path.tmp`, fsync, link (or, without hard
/// links, rename) to `path`, refused if `path` exists, removal of the temp
/// file, fsync of the directory.
/// Refuses an existing `path`, a leftover `path.tmp` and a symbolic link at
/// either.
pub fn write_secret(path: &Path, content: &str) -> Result<(), KeyError> {
    let tmp = temp_path(path);
    let io = |p: &Path| {
        let p = p.display().to_string();
        move |source| KeyError::Io { path: p, source }
    };
    refuse_existing(path, |path| KeyError::Exists { path })?;
    let mut opts = std::fs::OpenOptions::new();
    // create_new is O_CREAT|O_EXCL: it fails on any existing path, and does
    // not follow a symbolic link at the last component.
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = match opts.open(&tmp) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            refuse_existing(&tmp, |path| KeyError::LeftoverTemp { path })?;
            return Err(io(&tmp)(e));
        }
        Err(e) => return Err(io(&tmp)(e)),
    };
    // From here on the temp file is ours: remove it whatever happens.
    let written = (|| {
        f.write_all(content.as_bytes())?;
        f.write_all(b"\n")?;
        f.sync_all()
    })()
    .map_err(io(&tmp))
    .and_then(|()| match std::fs::hard_link(&tmp, path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            refuse_existing(path, |path| KeyError::Exists { path })?;
            Err(io(path)(e))
        }
        // A file system without hard links: rename, once more checking that
        // nothing is at `path` (a rename would replace it).
        Err(_) => {
            refuse_existing(path, |path| KeyError::Exists { path })?;
            std::fs::rename(&tmp, path).map_err(io(path))?;
            Ok(false)
        }
    });
    drop(f);
    let linked = match written {
        Ok(linked) => linked,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if linked {
        std::fs::remove_file(&tmp).map_err(io(&tmp))?;
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // Some file systems cannot fsync a directory (EINVAL): nothing more to
    // do there.
    match std::fs::File::open(dir).and_then(|d| d.sync_all()) {
        Err(e)
            if !matches!(
                e.kind(),
                std::io::ErrorKind::InvalidInput | std::io::ErrorKind::Unsupported
            ) =>
        {
            Err(io(dir)(e))
        }
        _ => Ok(()),
    }
}

/// Seconds since the UNIX epoch, by the system clock (0 if it is before).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The current time as an RFC 3339 UTC timestamp (whole seconds).
pub fn timestamp_now() -> dfft_core::statement::Timestamp {
    dfft_core::statement::Timestamp::from_unix_secs(unix_now())
        .or_else(|| dfft_core::statement::Timestamp::parse("1970-01-01T00:00:00Z").ok())
        .expect("a fixed, well-formed timestamp")
}
