//! HTML for the explorer: escaping (every string from a request or the log
//! goes through [`esc`] or [`attr`]) and the page around a body.
//!
//! Leaves out: what a page says (`super`).

use super::i18n::Lang;

/// `s` as HTML text.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `s` as a double-quoted attribute value.
pub fn attr(s: &str) -> String {
    esc(s)
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;line-height:1.5;color:#1b1b1b;background:#fff}\
a{color:#0645ad}:focus-visible,input:focus-within{outline:3px solid #1a4fa0;outline-offset:2px}\
label{font-weight:600;margin-right:.25rem}input,button{font:inherit;padding:.25rem .5rem;margin-right:.75rem}\
.hint{color:#444;font-size:.9rem}.record{border:1px solid #767676;border-radius:4px;padding:.5rem 1rem;margin:1rem 0}\
.badge{display:inline-block;padding:.1rem .5rem;border-radius:3px;border:2px solid}\
.in-force{background:#e6f4ea;border-color:#1e7b34;color:#0d4a1f}.suspended{background:#fff4e0;border-color:#9a5b00;color:#5c3600}\
.ended{background:#fbe9e9;border-color:#a12622;color:#6b1512}dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}\
dt{font-weight:600}pre{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5rem}\
.verify{border-top:2px solid #767676;margin-top:2rem}nav{text-align:right}\
.state{display:inline-block;padding:.2rem .6rem;border:2px solid;border-radius:3px}.state.verified{background:#e6f4ea;border-color:#1e7b34;color:#0d4a1f}\
.state.failed,.state.alarm{background:#fbe9e9;border-color:#a12622;color:#6b1512}.state.unverifiable,.state.checking{background:#f4f4f4;border-color:#767676}\
.pin code{word-break:break-all}.changes{border-left:4px solid #1a4fa0;padding-left:.75rem}\
table.matrix{border-collapse:collapse;font-size:.85rem}table.matrix th,table.matrix td{border:1px solid #767676;padding:.15rem .3rem;text-align:center}\
.wide{overflow-x:auto}td.on{background:#e6f4ea}td.some{background:#eef3fb}td.restr{background:#fdecea}.legend span{display:inline-block;margin-right:1rem}\
@media print{nav,form,button,.pin,details,.hint{display:none}a{color:inherit}body{max-width:none}}";

/// The whole page: `title`, the language switch to `switch_href`, `body`.
pub fn page(lang: Lang, title: &str, body: &str, switch_href: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{tag}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style>\
         <script type=\"module\" src=\"/explorer/page.mjs\"></script></head><body>\
         <nav aria-label=\"{nav}\"><a href=\"/?lang={tag}\">{ask}</a> · <a href=\"/matrix?lang={tag}\">{matrix}</a> · \
         <a href=\"/authorities?lang={tag}\">{auths}</a> · <a href=\"/log?lang={tag}\">{log}</a> · \
         <a href=\"{switch}\" hreflang=\"{other}\" lang=\"{other}\">{switch_text}</a></nav>\
         <main>{body}</main></body></html>\n",
        tag = lang.tag(),
        title = esc(title),
        switch = attr(switch_href),
        other = lang.other().tag(),
        switch_text = esc(lang.words().switch),
        nav = esc(lang.words().nav),
        ask = esc(lang.words().nav_ask),
        matrix = esc(lang.words().nav_matrix),
        auths = esc(lang.words().nav_authorities),
        log = esc(lang.words().log),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_everything_markup_could_hide_in() {
        assert_eq!(
            esc("<script>alert('x')</script>&\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&quot;"
        );
        let p = page(Lang::Ja, "a<b", "<p>x</p>", "/?lang=en&x=\"");
        assert!(p.contains("<html lang=\"ja\">"));
        assert!(p.contains("<title>a&lt;b</title>"));
        assert!(p.contains("href=\"/?lang=en&amp;x=&quot;\""));
    }
}
