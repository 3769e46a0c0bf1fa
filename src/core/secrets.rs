//! Secrets the operator did not configure: made once and kept in a file beside the
//! database (mode 0600), never in the database itself, so a copy of the database
//! can neither read orgchat's encrypted messages nor forge tokens. Every later
//! start and the CLI read the same file, so sessions, API tokens and encrypted
//! messages survive restarts without setup. A secret set in config always wins
//! and is never written anywhere.
//!
//! Installs from before this file kept generated secrets in the `secrets` table:
//! at start they are moved into the file and deleted from the table.

use std::{
    collections::BTreeMap,
    io::Write,
    path::{Path, PathBuf},
};

use anyhow::Context;
use entity::secrets;
use sea_orm::{DatabaseConnection, EntityTrait};

/// Where generated secrets live: `configured` when set; beside a SQLite database
/// file (`chatwire.db` -> `chatwire.db.secrets`); else `chatwire.secrets` in the
/// working directory (a server database has no "beside").
pub fn file_for(database_url: &str, configured: &str) -> PathBuf {
    if !configured.is_empty() {
        return PathBuf::from(configured);
    }
    let sqlite_file = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|rest| rest.split('?').next().unwrap_or(rest))
        .filter(|p| !p.is_empty() && !p.contains(":memory:"));
    match sqlite_file {
        Some(p) => PathBuf::from(format!("{p}.secrets")),
        None => PathBuf::from("chatwire.secrets"),
    }
}

/// The value of each of `names`: from the file, else moved from the database (an
/// older install), else made with `make`. The file is written when anything was
/// added; the moved rows are deleted from the database after that.
pub async fn load(
    db: &DatabaseConnection,
    path: &Path,
    names: &[&'static str],
    make: impl Fn() -> String,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut kept = read(path)?;
    let missing: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !kept.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return Ok(kept);
    }
    let mut moved = Vec::new();
    for name in missing {
        match secrets::Entity::find_by_id(name.to_owned()).one(db).await? {
            Some(row) => {
                kept.insert(name.to_owned(), row.value);
                moved.push(name);
            }
            None => {
                kept.insert(name.to_owned(), make());
            }
        }
    }
    let kept = write(path, kept)?;
    for name in &moved {
        secrets::Entity::delete_by_id(name.to_string())
            .exec(db)
            .await?;
    }
    if moved.is_empty() {
        tracing::info!(path = %path.display(), "generated secrets kept in this file (set them in config to override)");
    } else {
        tracing::info!(path = %path.display(), moved = moved.len(), "secrets moved out of the database into this file");
    }
    Ok(kept)
}

/// `name=value` lines; `#` starts a comment. A missing file is empty.
fn read(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect())
}

/// Writes the file readable by its owner only. A new file is created exclusively:
/// when two processes start at once on a fresh install, the first one's secrets
/// win and the other reads them back.
fn write(
    path: &Path,
    values: BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut text = String::from(
        "# chatwire: generated secrets. Keep this file private and out of backups of the\n# database; losing it ends every session and makes encrypted messages unreadable.\n",
    );
    for (k, v) in &values {
        text.push_str(&format!("{k}={v}\n"));
    }
    let existed = path.exists();
    let target = if existed {
        path.with_extension("secrets.tmp")
    } else {
        path.to_owned()
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut file = match opts.open(&target) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && !existed => {
            // Another process made it first: theirs win.
            return read(path);
        }
        Err(e) => return Err(e).with_context(|| format!("creating {}", target.display())),
    };
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", target.display()))?;
    if existed {
        std::fs::rename(&target, path).with_context(|| format!("replacing {}", path.display()))?;
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_sits_beside_a_sqlite_database() {
        assert_eq!(
            file_for("sqlite:///var/lib/cw/chatwire.db?mode=rwc", ""),
            PathBuf::from("/var/lib/cw/chatwire.db.secrets")
        );
        assert_eq!(
            file_for("sqlite://chatwire.db?mode=rwc", ""),
            PathBuf::from("chatwire.db.secrets")
        );
        assert_eq!(
            file_for("postgres://u@h/db", ""),
            PathBuf::from("chatwire.secrets")
        );
        assert_eq!(
            file_for("postgres://u@h/db", "/etc/cw/secrets"),
            PathBuf::from("/etc/cw/secrets")
        );
    }

    #[test]
    fn a_new_file_is_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.secrets");
        let values = BTreeMap::from([("a".to_owned(), "1".to_owned())]);
        write(&path, values.clone()).unwrap();
        assert_eq!(read(&path).unwrap(), values);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let more = BTreeMap::from([
            ("a".to_owned(), "1".to_owned()),
            ("b".to_owned(), "2".to_owned()),
        ]);
        write(&path, more.clone()).unwrap();
        assert_eq!(read(&path).unwrap(), more);
    }
}
