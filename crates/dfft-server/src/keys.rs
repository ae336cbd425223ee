//! The log's key files: creation on first start (mode 0600, written
//! atomically) and loading.

use dfft_core::note::{KeyName, SignerKey};
use std::io::Write as _;
use std::path::Path;

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
/// Returns the key and whether it was created.
pub fn load_or_create(path: &Path, name: &str) -> Result<(SignerKey, bool), KeyError> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let name = KeyName::new(name).map_err(|e| KeyError::Invalid {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let key = SignerKey::from_seed(name, random_seed()?);
    write_secret(path, &key.to_private_string())?;
    Ok((key, true))
}

/// Writes a secret file atomically with mode 0600: temp file, fsync, rename,
/// fsync of the directory.
pub fn write_secret(path: &Path, content: &str) -> Result<(), KeyError> {
    let io = |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    };
    let tmp = path.with_extension("tmp");
    {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(io)?;
        f.write_all(content.as_bytes()).map_err(io)?;
        f.write_all(b"\n").map_err(io)?;
        f.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    if let Some(dir) = path.parent() {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}
