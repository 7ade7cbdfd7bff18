//! The one schema of the scan history, as versioned migrations.
//!
//! The SQL is meant for SQLite and PostgreSQL alike: plain types (`BIGINT`,
//! `INTEGER`, `TEXT`), no `AUTOINCREMENT`, no `WITHOUT ROWID`, no JSON. The
//! only difference between the back ends is how a table gets its generated
//! key, so that is the placeholder `{id}`, which each back end replaces
//! ([`SQLITE_ID`], and later PostgreSQL's identity column). Times are
//! microseconds since the Unix epoch (UTC), in `BIGINT`.
//!
//! Indexes: `scans_by_start` (list, newest first), `hosts_by_scan` (show:
//! a scan's hosts in order), `hosts_by_addr` (latest: an address's newest
//! scan), `hosts_by_scan_addr` (diff: two scans walked by address), and
//! `ports_by_port` (which hosts have a port in a state); a host's ports,
//! groups and OS rows are reached by their primary keys, which start with
//! `host_id`.
//!
//! Observations are append-only: a scan's rows are written once, never
//! updated, except the scan row itself, which gets its end, statistics and
//! status when the scan finishes.

/// How SQLite spells a generated 64-bit key (an alias of the rowid).
pub const SQLITE_ID: &str = "INTEGER PRIMARY KEY";

/// Migration `i` brings the schema from version `i` to `i + 1`. Never edit
/// one that has shipped: add another.
pub const MIGRATIONS: &[&str] = &[V1, V2];

/// The version a fully migrated database has.
pub const CURRENT: i64 = MIGRATIONS.len() as i64;

const V1: &str = "
CREATE TABLE scans (
    id {id},
    args TEXT NOT NULL,
    started_us BIGINT NOT NULL,
    ended_us BIGINT,
    elapsed_us BIGINT,
    seed TEXT,
    shard_index BIGINT,
    shard_count BIGINT,
    prtip_version TEXT NOT NULL,
    status TEXT NOT NULL,
    verbose INTEGER NOT NULL,
    debug INTEGER NOT NULL,
    show_reason INTEGER NOT NULL,
    port_scan INTEGER NOT NULL,
    version_scan INTEGER NOT NULL,
    os_scan INTEGER NOT NULL,
    os_guess INTEGER NOT NULL,
    hosts_up BIGINT,
    hosts_down BIGINT
);
CREATE INDEX scans_by_start ON scans (started_us);

CREATE TABLE scan_types (
    scan_id BIGINT NOT NULL REFERENCES scans (id),
    seq INTEGER NOT NULL,
    scan_type TEXT NOT NULL,
    protocol TEXT NOT NULL,
    num_services BIGINT NOT NULL,
    services TEXT NOT NULL,
    PRIMARY KEY (scan_id, seq)
);

CREATE TABLE hosts (
    id {id},
    scan_id BIGINT NOT NULL REFERENCES scans (id),
    seq BIGINT NOT NULL,
    addr TEXT NOT NULL,
    hostname TEXT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    latency_ns BIGINT,
    started_us BIGINT NOT NULL,
    ended_us BIGINT NOT NULL
);
CREATE UNIQUE INDEX hosts_by_scan ON hosts (scan_id, seq);
CREATE INDEX hosts_by_addr ON hosts (addr, scan_id);
CREATE INDEX hosts_by_scan_addr ON hosts (scan_id, addr);

CREATE TABLE ports (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    seq INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    port INTEGER NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    reason_ttl INTEGER NOT NULL,
    service TEXT,
    product TEXT,
    version TEXT,
    extrainfo TEXT,
    service_hostname TEXT,
    ostype TEXT,
    devicetype TEXT,
    tunnel TEXT,
    method TEXT,
    conf INTEGER,
    PRIMARY KEY (host_id, seq)
);
CREATE INDEX ports_by_port ON ports (protocol, port, state);

CREATE TABLE port_cpes (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    port_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    cpe TEXT NOT NULL,
    PRIMARY KEY (host_id, port_seq, seq)
);

CREATE TABLE extraports (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (host_id, seq)
);

CREATE TABLE extra_reasons (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    extra_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    protocol TEXT NOT NULL,
    reason TEXT NOT NULL,
    count BIGINT NOT NULL,
    first_port INTEGER NOT NULL,
    PRIMARY KEY (host_id, extra_seq, seq)
);

CREATE TABLE os_reports (
    host_id BIGINT NOT NULL PRIMARY KEY REFERENCES hosts (id),
    closed_port INTEGER NOT NULL,
    not_ideal TEXT,
    not_ideal_distance INTEGER,
    fingerprint TEXT,
    distance INTEGER,
    failure TEXT,
    failure_detail TEXT
);

CREATE TABLE os_ports_used (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    protocol TEXT NOT NULL,
    port INTEGER NOT NULL,
    PRIMARY KEY (host_id, seq)
);

CREATE TABLE os_matches (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    seq INTEGER NOT NULL,
    name TEXT NOT NULL,
    accuracy INTEGER NOT NULL,
    line BIGINT NOT NULL,
    matched BIGINT NOT NULL,
    possible BIGINT NOT NULL,
    PRIMARY KEY (host_id, seq)
);

CREATE TABLE os_classes (
    host_id BIGINT NOT NULL REFERENCES hosts (id),
    match_seq INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    device_type TEXT NOT NULL,
    vendor TEXT NOT NULL,
    family TEXT NOT NULL,
    generation TEXT,
    accuracy INTEGER NOT NULL,
    cpe TEXT NOT NULL,
    PRIMARY KEY (host_id, match_seq, seq)
);
";

/// V2: a TCP scan's `--scanflags` (the flag bits, NULL when not given),
/// which V1 lost, so `db show`/`db export` of such a scan wrote a plain
/// scan type; and the elapsed time in nanoseconds, as `-oJ` prints it
/// (microseconds made an export differ from the scan's own file). V1 rows
/// read back as scans without custom flags (all V1 could record) and with
/// their elapsed microseconds. A scan imported from an XML file keeps the
/// file's `scanner` and `version` (NULL for prtip's own scans), which ndiff
/// prints and so `db diff` prints.
const V2: &str = "
ALTER TABLE scan_types ADD COLUMN tcp_flags INTEGER;
ALTER TABLE scans ADD COLUMN elapsed_ns BIGINT;
ALTER TABLE scans ADD COLUMN scanner TEXT;
ALTER TABLE scans ADD COLUMN scanner_version TEXT;
";

/// The migration's SQL with the back end's spelling of a generated key.
pub fn render(migration: &str, id: &str) -> String {
    migration.replace("{id}", id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_uses_no_sqlite_only_features() {
        for m in MIGRATIONS {
            let upper = m.to_ascii_uppercase();
            for word in [
                "AUTOINCREMENT",
                "WITHOUT ROWID",
                "STRICT",
                "JSON",
                "PRAGMA",
                "BLOB",
            ] {
                assert!(!upper.contains(word), "{word} in a migration");
            }
        }
    }
}
