"""Files the browser refuses before they reach the app (over the uploader's size limit,
a type it does not take): Streamlit marks them with a red chip whose reason shows on
hover only, and the app never sees them. A small script on the page writes one plain
sentence for each, under the uploader, so every file listed is accounted for (issue 27
item 5). No Streamlit here: check_page draws it with st.html.

The script reads Streamlit 1.67's uploader: each file is a [data-testid=stFileChip],
aria-invalid="true" when refused, its full name in [data-testid=stFileChipName]'s
title, its reason in a [role=alert] ("Error: File must be 20.0MB or smaller.").
Names are set as text, never as HTML.
"""

from __future__ import annotations

import json

BOX_ID = "realorai-refused-uploads"


def html(too_large: str, other: str) -> str:
    """The box and its script: `too_large` for a file over the size limit, `other` for
    any other refusal, each after the file's name."""
    words = json.dumps({"tooLarge": too_large, "other": other})
    return f"""<div id="{BOX_ID}" data-testid="realoraiRefusedUploads"></div>
<script>
(function () {{
  const words = {words};
  function refusedLines() {{
    const lines = [];
    document.querySelectorAll(
      '[data-testid=stFileUploader] [data-testid=stFileChip][aria-invalid=true]'
    ).forEach(function (chip) {{
      const named = chip.querySelector('[data-testid=stFileChipName]');
      const name = (named && (named.title || named.textContent)) || 'A file';
      const alert = chip.querySelector('[role=alert]');
      const reason = alert ? alert.textContent : '';
      lines.push(name + ': ' + (/or smaller/i.test(reason) ? words.tooLarge : words.other));
    }});
    return lines;
  }}
  function draw() {{
    const box = document.getElementById('{BOX_ID}');
    if (!box) return;
    const lines = refusedLines();
    const key = lines.join('\\n');
    if (box.dataset.shown === key) return;
    box.dataset.shown = key;
    box.replaceChildren();
    lines.forEach(function (line) {{
      const row = document.createElement('div');
      row.setAttribute('role', 'alert');
      row.className = 'realorai-refused';
      row.textContent = line;
      row.style.cssText = 'background:rgba(255,43,43,0.09);color:rgb(125,53,59);' +
        'padding:0.75rem 1rem;border-radius:0.5rem;margin:0.25rem 0;';
      box.appendChild(row);
    }});
  }}
  if (window.__realoraiRefusedTimer) clearInterval(window.__realoraiRefusedTimer);
  window.__realoraiRefusedTimer = setInterval(draw, 300);
  draw();
}})();
</script>"""
