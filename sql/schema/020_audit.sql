-- One row per guard scan of a landing file (CONTRACT s.4). `rules` names rule ids, columns and
-- hit counts only, never a value from the file.
CREATE TABLE IF NOT EXISTS audit.file_scans (
    file_name  VARCHAR   NOT NULL,
    sha256     VARCHAR   NOT NULL,
    feed       VARCHAR   NOT NULL,
    rows       BIGINT,
    verdict    VARCHAR   NOT NULL CHECK (verdict IN ('accepted', 'rejected')),
    rules      VARCHAR   NOT NULL,
    scanned_at TIMESTAMP NOT NULL
);

-- What staging holds: one row per file whose rows are in staging.<feed>.
CREATE TABLE IF NOT EXISTS audit.loaded_files (
    feed      VARCHAR   NOT NULL,
    file_name VARCHAR   NOT NULL,
    sha256    VARCHAR   NOT NULL,
    rows      BIGINT    NOT NULL,
    loaded_at TIMESTAMP NOT NULL
);
