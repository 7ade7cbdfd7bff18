//! The column layout shared by `db diff` and `db latest`.

/// Left-justified columns: the first (ndiff's +/- mark) glued to the
/// second, then one space between columns, trailing blanks cut, as ndiff
/// lays out its port table.
#[derive(Debug, Default)]
pub(super) struct Table {
    widths: Vec<usize>,
    pub(super) rows: Vec<Vec<String>>,
}

impl Table {
    /// Adds a row; trailing None cells are dropped, others None are blank.
    pub(super) fn push(&mut self, mut row: Vec<Option<String>>) {
        while row.last().is_some_and(Option::is_none) {
            row.pop();
        }
        let row: Vec<String> = row.into_iter().map(Option::unwrap_or_default).collect();
        for (i, cell) in row.iter().enumerate() {
            let w = cell.chars().count();
            match self.widths.get_mut(i) {
                Some(max) => *max = (*max).max(w),
                None => self.widths.push(w),
            }
        }
        self.rows.push(row);
    }

    pub(super) fn write(&self, out: &mut String) {
        for row in &self.rows {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let pad = self.widths[i].saturating_sub(cell.chars().count());
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
                if i >= 1 {
                    line.push(' ');
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
}
