//! `reports`: charts, HTML/Markdown, CSV/JSON and JUnit from run results. Not yet built: see issue "scenarios".
