//! The files a configuration was read from, kept to show source lines in
//! diagnostics.

use std::path::{Path, PathBuf};

/// One file as read (lossily decoded: any byte sequence is accepted).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Where each line starts: made when a diagnostic first needs a source line (a clean
    /// reload of a large file never does).
    line_starts: std::sync::OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        SourceFile {
            path,
            text,
            line_starts: std::sync::OnceLock::new(),
        }
    }

    fn starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            let mut v = vec![0];
            v.extend(self.text.match_indices('\n').map(|(i, _)| i + 1));
            v
        })
    }

    /// The text of 1-based line `n`, without its line terminator.
    pub fn line(&self, n: u32) -> Option<&str> {
        let idx = (n as usize).checked_sub(1)?;
        let starts = self.starts();
        let start = *starts.get(idx)?;
        let end = starts
            .get(idx + 1)
            .map(|e| e - 1)
            .unwrap_or(self.text.len());
        let l = &self.text[start..end.max(start)];
        Some(l.strip_suffix('\r').unwrap_or(l))
    }

    pub fn lines(&self) -> impl Iterator<Item = &str> {
        (1..=self.starts().len() as u32).filter_map(|n| self.line(n))
    }

    pub fn line_count(&self) -> usize {
        self.starts().len()
    }
}

/// All files of one configuration, indexed by the `file` field of [`crate::Loc`].
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    pub files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: &Path, text: String) -> u32 {
        self.files.push(SourceFile::new(path.to_path_buf(), text));
        (self.files.len() - 1) as u32
    }

    pub fn get(&self, id: u32) -> Option<&SourceFile> {
        self.files.get(id as usize)
    }

    pub fn path(&self, id: u32) -> String {
        self.get(id)
            .map(|f| f.path.display().to_string())
            .unwrap_or_else(|| "<unknown>".into())
    }
}
