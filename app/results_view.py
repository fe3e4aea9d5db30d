"""Drawing the results: the batch table with its CSV, and one card per picture (the
verdict with its reliability, the file's own evidence beside it, the heat map).

Heat maps never hold a verdict back: every card is drawn with its picture first, and
the maps, which may wait for Keras to load, replace those pictures afterwards
(`fill_heat_maps`)."""

from __future__ import annotations

import streamlit as st

from app import analysis, heatmap, messages, tables, verdict

MAX_CARDS = 24  # pictures shown in full; the table and CSV always have every one
TABLE_FROM = 2  # a results table (and CSV) once there are this many pictures
COLOURS = {"real": "green", "ai": "red", "uncertain": "orange", "too_small": "orange"}
COUNTED = {"real": "real", "ai": "AI-generated", "uncertain": "not sure",
           "too_small": "too small to judge"}  # fmt: skip


def show(predictor, results: list[analysis.Result], show_heat: bool) -> list[tuple]:
    """Every verdict on the page; returns the (slot, result) pairs whose heat maps are
    still to draw (see fill_heat_maps)."""
    if not results:
        return []
    if len(results) >= TABLE_FROM:
        show_table(results)
    pending, shown = [], 0
    for result in results:
        if not result.ok:
            st.error(f"{messages.literal(result.name)}: {result.error}")
        elif shown < MAX_CARDS:
            slot = show_card(predictor, result, show_heat)
            if slot is not None:
                pending.append((slot, result))
            shown += 1
    hidden = sum(r.ok for r in results) - shown
    if hidden:
        st.caption(f"{hidden} more picture(s) are in the table and the CSV.")
    return pending


def fill_heat_maps(predictor, pending: list[tuple]) -> None:
    """Each waiting picture replaced by its heat map, in page order."""
    for slot, result in pending:
        with slot.container():
            show_heat_map(predictor, result)


def show_table(results: list[analysis.Result]) -> None:
    ok = [r for r in results if r.ok]
    counts = {v: sum(r.verdict == v for r in ok) for v in COUNTED}
    parts = [f"{n} {COUNTED[v]}" for v, n in counts.items() if n or v != "too_small"]
    st.subheader(f"{len(results)} pictures")
    st.caption(f"{', '.join(parts)}, {len(results) - len(ok)} could not be checked.")
    st.dataframe(
        tables.results_rows(results),
        hide_index=True,
        width="stretch",
        column_config={"problem": st.column_config.TextColumn("problem", width="large")},
    )
    st.download_button(
        "Download CSV",
        data=tables.results_csv(results),
        file_name="realorai-results.csv",
        mime="text/csv",
        on_click="ignore",
        key="csv",
    )


def show_card(predictor, result: analysis.Result, show_heat: bool):
    """The verdict across the card's top, then the picture beside the details: on a
    narrow screen, where columns stack, the verdict comes first, then the picture, then
    the details (issue 27 item 8). Returns the picture's slot when its heat map is still
    to be drawn there, else None."""
    p = result.prediction
    with st.container(border=True):
        st.markdown(f"#### :{COLOURS[result.verdict]}[{messages.TITLES[result.verdict]}]")
        st.progress(min(max(p.p_real, 0.0), 1.0), text=f"p_real = {verdict.p_text(p.p_real)}")
        if p.probabilities:  # a three-class model: real, edited, AI-generated
            st.markdown(verdict.probabilities_table(p.probabilities))
        if result.verdict == "too_small":
            st.markdown(verdict.too_small_line(p, predictor.card))
        elif p.verdict == "uncertain":
            st.markdown(verdict.unsure_line(p, predictor.band_edges(p.view)))
        st.markdown(verdict.reliability_line(p, predictor.card))
        left, right = st.columns([3, 2])
        with left:
            slot = st.empty()
            # One block in the slot: the map written over it replaces it whole, where
            # loose elements past the map's own count would stay (the "follows" note).
            with slot.container(), st.container():
                show_picture(result)
                if show_heat and p.view != "whole":  # nothing to wait for: say so now
                    st.caption(messages.NO_WEB_HEAT_MAP)
                elif show_heat:
                    st.caption(messages.HEAT_MAP_COMING)
        with right:
            note = verdict.calibration_line(p) + f" Judged in {p.milliseconds:.1f} ms."
            if result.true_label:
                note += f" True label: {result.true_label}."
            st.caption(note)
            st.markdown("**What the file says about itself** (not part of the verdict)")
            for line in result.provenance.lines(messages.literal) if result.provenance else []:
                st.markdown(f"- {line}")
            st.caption(messages.MEANING)
    return slot if show_heat and p.view == "whole" else None


def show_picture(result: analysis.Result) -> None:
    """The picture with its name; a small one (shown enlarged with visible pixels, see
    analysis.display_picture) at its display size, not stretched to the column."""
    small = max(result.picture.shape[:2]) < 2 * analysis.SMALL
    st.image(result.picture, caption=messages.literal(result.name),
             width="content" if small else "stretch")  # fmt: skip


def show_heat_map(predictor, result: analysis.Result) -> None:
    """Original and map side by side, a colour legend, a caption in words."""
    p = result.prediction
    picture = result.picture
    if p.view != "whole":  # the web view draws no map (its backbone is not a CAM network)
        show_picture(result)
        st.caption(messages.NO_WEB_HEAT_MAP)
        return
    if not predictor.has_gradcam:  # Keras could not be loaded: the verdict stands alone
        show_picture(result)
        st.caption(messages.NO_HEAT_MAP)
        return
    heat = analysis.heat_of(predictor, result)
    evidence = "AI" if p.label == "ai" else "a real photograph"
    region = analysis.region_of(predictor, result)  # whole view only
    original, mapped, *beside = st.columns(2 if region is None else 3)
    original.image(picture, caption=messages.literal(result.name), width="stretch")
    if heatmap.stands_out(heat):
        mapped.image(heatmap.painted(picture, heat), caption=messages.HEAT_CAPTION[p.label],
                     width="stretch")  # fmt: skip
        show_legend(mapped, "no sign", f"strong sign of {evidence}")
    else:  # an even map would point at nothing while its colours seem to say something
        mapped.caption(messages.NO_REGION_STANDS_OUT)
    if region is not None and region.found and region.localised:
        edited = heatmap.painted(picture, region.heat)
        beside[0].image(edited, caption=verdict.region_caption(region), width="stretch")
        show_legend(beside[0], "hiding it changes nothing", "hiding it changes most")
    elif region is not None:
        beside[0].caption(verdict.region_caption(region))


def show_legend(column, dark: str, bright: str) -> None:
    """One colour scale under its own map, in the map's own words."""
    column.image(heatmap.legend(), caption=f"Colour scale: dark = {dark}, bright = {bright}",
                 width="stretch")  # fmt: skip
