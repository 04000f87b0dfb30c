using System.Globalization;
using System.Net;
using System.Text;

namespace GreenSeg.Review;

/// <summary>
/// The review page: one self-contained HTML file (mosaics embedded as data: URIs, inline style and script, no
/// external URL) with a row per stack, sortable by any column by clicking its header or by opening the page
/// with #sort=COLUMN-asc|desc. Once loaded, the body's data-images-loaded and data-images-total say how many
/// mosaics the browser could decode.
/// </summary>
public static class ReviewPage
{
    public const string Generator = "GreenSeg review";
    private static readonly string GeneratorMeta = $"<meta name=\"generator\" content=\"{Generator}\">";

    /// <summary>Sortable columns: the key used by #sort= and the rows' data- attributes, and the header.</summary>
    public static IReadOnlyList<(string Key, string Header, bool Numeric)> Columns { get; } =
    [
        ("name", "stack", false), ("group", "group", false), ("dice", "Dice", true), ("hd95", "HD95 mm", true),
        ("volume", "brain ml", true), ("reference", "reference ml", true), ("slices", "slices", true), ("flags", "flags", true),
    ];

    public static bool IsGreenSegPage(string path)
    {
        var head = new char[4096];
        using var reader = new StreamReader(path, Encoding.UTF8);
        int read = reader.ReadBlock(head, 0, head.Length);
        return new string(head, 0, read).Contains(GeneratorMeta, StringComparison.Ordinal);
    }

    public static string Html(string title, ReviewResult result, ReviewOptions options)
    {
        var rows = result.Rows;
        bool groups = rows.Any(r => r.Case.Group is not null), references = rows.Any(r => r.ReferenceMl is not null);
        bool metrics = rows.Any(r => r.Case.Dice is not null);
        var shown = Columns.Where(c => c.Key switch
        {
            "group" => groups,
            "dice" or "hd95" => metrics,
            "reference" => references,
            _ => true,
        }).ToList();
        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n").Append(GeneratorMeta).Append('\n')
            .Append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
            .Append("<title>").Append(Encode(title)).Append("</title>\n<style>\n").Append(Style).Append("</style>\n</head>\n")
            .Append("<body data-images-loaded=\"0\" data-images-total=\"").Append(rows.Count(r => r.MosaicPng is not null)).Append("\">\n")
            .Append("<h1>").Append(Encode(title)).Append("</h1>\n<p>")
            .Append(Invariant($"{rows.Count} stack(s), {result.Flagged} flagged. "))
            .Append("Outlines: <span class=\"pred\">prediction</span>")
            .Append(references ? ", <span class=\"ref\">reference</span>, <span class=\"both\">both</span>" : "")
            .Append(". Tiles are labelled with their slice index")
            .Append(references ? "; the slices where prediction and reference disagree most come first" : ", in stack order")
            .Append(". Click a column's header to sort by it, a mosaic to see it full size; hover over a flag for what it means.</p>\n");
        html.Append("<table id=\"review\">\n<thead><tr>");
        foreach (var column in shown)
        {
            html.Append("<th data-key=\"").Append(column.Key).Append("\" data-type=\"").Append(column.Numeric ? "number" : "text")
                .Append("\" tabindex=\"0\">").Append(Encode(column.Header)).Append("</th>");
        }
        html.Append("<th>mosaic</th></tr></thead>\n<tbody>\n");
        foreach (var row in rows) AppendRow(html, row, shown, options);
        html.Append("</tbody>\n</table>\n<script>\n").Append(Script).Append("</script>\n</body>\n</html>\n");
        return html.ToString();
    }

    private static void AppendRow(StringBuilder html, ReviewRow row, List<(string Key, string Header, bool Numeric)> shown, ReviewOptions options)
    {
        var values = new Dictionary<string, (string? Sort, string Text)>
        {
            ["name"] = (row.Name, row.Name),
            ["group"] = (row.Case.Group, row.Case.Group ?? ""),
            ["dice"] = Number(row.Case.Dice, "0.000"),
            ["hd95"] = Number(row.Case.Hd95Mm, "0.0"),
            ["volume"] = Number(row.Facts?.VolumeMl, "0.0"),
            ["reference"] = Number(row.ReferenceMl, "0.0"),
            ["slices"] = Number(row.Error is null ? row.Slices : null, "0"),
            ["flags"] = (Invariant($"{row.Flags.Count + (row.Error is null ? 0 : 1)}"), ""),
        };
        html.Append("<tr");
        foreach (var column in shown)
            if (values[column.Key].Sort is { } sort) html.Append(" data-").Append(column.Key).Append("=\"").Append(Encode(sort)).Append('"');
        html.Append(row.Flags.Count > 0 || row.Error is not null ? " class=\"flagged\">" : ">");
        foreach (var column in shown)
        {
            html.Append("<td>");
            if (column.Key == "flags") AppendFlags(html, row, options);
            else html.Append(Encode(values[column.Key].Text));
            html.Append("</td>");
        }
        AppendMosaic(html, row);
        html.Append("</tr>\n");
    }

    private static void AppendMosaic(StringBuilder html, ReviewRow row)
    {
        html.Append("<td>");
        if (row.MosaicPng is { } png)
            html.Append("<img class=\"mosaic\" alt=\"mosaic of ").Append(Encode(row.Name)).Append("\" width=\"").Append(row.MosaicWidth)
                .Append("\" height=\"").Append(row.MosaicHeight).Append("\" src=\"data:image/png;base64,")
                .Append(Convert.ToBase64String(png)).Append("\">");
        else html.Append("<span class=\"error\">no mosaic</span>");
        html.Append("</td>");
    }

    private static void AppendFlags(StringBuilder html, ReviewRow row, ReviewOptions options)
    {
        if (row.Error is { } error) html.Append("<span class=\"flag error\">failed: ").Append(Encode(error)).Append("</span> ");
        foreach (var flag in row.Flags)
            html.Append("<span class=\"flag\" title=\"").Append(Encode(ReviewFlags.Describe(flag, options))).Append("\">")
                .Append(Encode(ReviewFlags.Label(flag))).Append("</span> ");
    }

    private static (string? Sort, string Text) Number(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? (v.ToString("R", CultureInfo.InvariantCulture), v.ToString(format, CultureInfo.InvariantCulture)) : (null, "-");

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    private static string Invariant(FormattableString text) => FormattableString.Invariant(text);

    private const string Style = """
        body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; background: #fafafa; }
        table { border-collapse: collapse; }
        th, td { border-bottom: 1px solid #ccc; padding: 0.4em 0.6em; text-align: left; vertical-align: top; }
        th[data-key] { cursor: pointer; user-select: none; white-space: nowrap; }
        th[aria-sort="ascending"]::after { content: " \25B2"; }
        th[aria-sort="descending"]::after { content: " \25BC"; }
        td { font-variant-numeric: tabular-nums; }
        tr.flagged td:first-child { border-left: 4px solid #d33; }
        img.mosaic { max-width: 560px; height: auto; image-rendering: pixelated; cursor: zoom-in; display: block; }
        img.mosaic.full { max-width: none; cursor: zoom-out; }
        .flag { display: inline-block; white-space: nowrap; margin: 0 0.3em 0.3em 0; padding: 0.1em 0.5em; border-radius: 0.8em; background: #fde2c8; font-size: 0.9em; }
        .flag.error, .error { background: #f6c4c4; }
        .pred { color: #e03030; font-weight: bold; } .ref { color: #1f9e1f; font-weight: bold; } .both { color: #b59a00; font-weight: bold; }

        """;

    private const string Script = """
        (function () {
          const table = document.getElementById('review');
          const body = table.tBodies[0];
          const headers = Array.from(table.tHead.rows[0].cells).filter(h => h.dataset.key);
          function value(row, key, numeric) {
            const text = row.dataset[key];
            if (text === undefined || text === '') return null;
            return numeric ? Number(text) : text.toLowerCase();
          }
          function sortBy(key, ascending) {
            const header = headers.find(h => h.dataset.key === key);
            if (!header) return;
            const numeric = header.dataset.type === 'number';
            const rows = Array.from(body.rows);
            rows.sort((a, b) => {
              const va = value(a, key, numeric), vb = value(b, key, numeric);
              if (va === null || vb === null) return (va === null) - (vb === null);
              const order = va < vb ? -1 : va > vb ? 1 : 0;
              return ascending ? order : -order;
            });
            rows.forEach(r => body.appendChild(r));
            headers.forEach(h => h.removeAttribute('aria-sort'));
            header.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
            document.body.dataset.sortedBy = key + '-' + (ascending ? 'asc' : 'desc');
          }
          headers.forEach(h => {
            const toggle = () => {
              const ascending = h.getAttribute('aria-sort') !== 'ascending';
              sortBy(h.dataset.key, ascending);
              history.replaceState(null, '', '#sort=' + h.dataset.key + '-' + (ascending ? 'asc' : 'desc'));
            };
            h.addEventListener('click', toggle);
            h.addEventListener('keydown', e => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); } });
          });
          document.querySelectorAll('img.mosaic').forEach(img => img.addEventListener('click', () => img.classList.toggle('full')));
          const wanted = /^#sort=([a-z0-9]+)-(asc|desc)$/.exec(location.hash);
          if (wanted) sortBy(wanted[1], wanted[2] === 'asc');
          function countImages() {
            const images = Array.from(document.querySelectorAll('img.mosaic'));
            document.body.dataset.imagesLoaded = images.filter(i => i.complete && i.naturalWidth > 0).length;
          }
          countImages();
          window.addEventListener('load', countImages);
        })();

        """;
}
