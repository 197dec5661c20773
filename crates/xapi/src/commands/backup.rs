//! Backup, restore and factory reset.

use super::{origin, Args, CmdError, Fields};
use crate::format::Field;
use crate::{Engine, Principal};
use causeway_config::backup::{self, BackupError, Manifest};
use causeway_config::Change;
use std::path::PathBuf;

fn refused(e: BackupError) -> CmdError {
    CmdError::Refused(e.to_string())
}

/// `YYYYMMDD_HHMMSS` in UTC.
fn stamp(unix: u64) -> String {
    let (days, secs) = ((unix / 86_400) as i64, unix % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}_{:02}{:02}{:02}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn describe(m: &Manifest) -> Fields {
    vec![
        ("Version".into(), Field::str(m.version.as_str())),
        ("SystemName".into(), Field::str(m.system_name.as_str())),
        ("Created".into(), Field::bare(m.created_unix)),
        ("Revision".into(), Field::bare(m.revision)),
        ("Values".into(), Field::bare(m.values)),
        ("Credentials".into(), Field::bare(m.credentials)),
        ("CertificateFiles".into(), Field::bare(m.tls_files)),
    ]
}

/// Writes an encrypted backup into `backups/` in the data directory and names the file.
pub fn backup_create(e: &Engine, a: &Args, _: &Principal) -> Result<Fields, CmdError> {
    let (bytes, manifest) = backup::create(&e.config, a.req("Password")).map_err(refused)?;
    let dir = e.config.data_dir().join("backups");
    std::fs::create_dir_all(&dir).map_err(|err| CmdError::Refused(err.to_string()))?;
    let name: String = manifest
        .system_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let file = dir.join(format!(
        "causeway-{}_{}_{}_backup.tar.gz.enc",
        manifest.version,
        if name.is_empty() { "node" } else { &name },
        stamp(manifest.created_unix)
    ));
    std::fs::write(&file, &bytes).map_err(|err| CmdError::Refused(err.to_string()))?;
    let mut out = vec![("File".into(), Field::str(file.display().to_string()))];
    out.extend(describe(&manifest));
    Ok(out)
}

/// Checks a backup, restores it, and restarts a running server so that the restored key and
/// certificate are read.
pub fn backup_restore(e: &Engine, a: &Args, who: &Principal) -> Result<Fields, CmdError> {
    let path = PathBuf::from(a.req("File"));
    let bytes = std::fs::read(&path)
        .map_err(|err| CmdError::Refused(format!("{}: {err}", path.display())))?;
    let opened = backup::open(&bytes, a.req("Password")).map_err(refused)?;
    let mut out = describe(&opened.manifest);
    backup::restore(&e.config, opened, &origin(who)).map_err(refused)?;
    out.push(("Restored".into(), Field::bare("Yes")));
    if let Some(s) = e.services() {
        // Let the services take the change in first: once the restart is asked for, the server
        // only waits a moment for this answer to go out.
        s.settle(e.config.snapshot().revision);
        s.restart(&format!("restore requested by {}", who.user))
            .map_err(CmdError::Refused)?;
        out.push(("Restart".into(), Field::bare("Scheduled")));
    }
    Ok(out)
}

/// Everything back to the factory configuration: every reset level, no device credentials, and
/// `admin` without a password (a new one is made and shown at the next start, which a running
/// server goes through at once). The TLS identity and the seal key stay.
pub fn factory_reset(e: &Engine, _: &Args, who: &Principal) -> Result<Fields, CmdError> {
    e.config
        .commit(&origin(who), vec![Change::ResetToDefaults { level: 3 }])?;
    for name in e.config.credential_names() {
        e.config
            .credential_delete(&name)
            .map_err(|err| CmdError::Refused(err.to_string()))?;
    }
    let mut out = vec![("Reset".into(), Field::bare("Yes"))];
    if let Some(s) = e.services() {
        s.settle(e.config.snapshot().revision);
        s.restart(&format!("factory reset requested by {}", who.user))
            .map_err(CmdError::Refused)?;
        out.push(("Restart".into(), Field::bare("Scheduled")));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn stamps_are_utc_calendar_times() {
        assert_eq!(super::stamp(0), "19700101_000000");
        assert_eq!(super::stamp(1_795_000_000), "20261118_110640");
        assert_eq!(super::stamp(951_782_400), "20000229_000000");
    }
}
