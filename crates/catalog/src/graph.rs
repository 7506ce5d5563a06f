//! Layout of an entity's neighbourhood graph, for drawing as server-rendered SVG.
//!
//! The graph has three columns:
//!
//! * **right** — what the centre *uses or belongs to*: `ownedBy`, `partOf`,
//!   `childOf`, `memberOf`, `providesApi`, `dependsOn`, `consumesApi`, and any
//!   relation type this module does not know;
//! * **middle** — the centre entity, vertically centred;
//! * **left** — what *uses or belongs to the centre*: `ownerOf`, `hasPart`,
//!   `parentOf`, `hasMember`, `apiProvidedBy`, `dependencyOf`, `apiConsumedBy`.
//!
//! So every edge runs left to right, from the subject to the object of the
//! "forward" relation (X `dependsOn` Y puts X left of Y); an arrowhead at the
//! path's end reads correctly.
//!
//! There is one node per (side, `entity_ref`) and one edge per distinct
//! relation: the same entity under `dependsOn` and `consumesApi` is one box
//! with two edges, while an entity that is both `dependsOn` and `dependencyOf`
//! (a cycle) gets one box on each side. Exact duplicate (`entity_ref`,
//! `relation`) pairs are dropped, as are relations of the centre to itself.
//!
//! The module is pure (no I/O) and deterministic: the output depends only on
//! the input's contents, not on its order. It does no escaping; the template
//! does.

use std::collections::{BTreeMap, BTreeSet};

/// One relation of the centre entity, as the page knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbour {
    /// Entity reference, e.g. `component:default/checkout` (lower case).
    pub entity_ref: String,
    /// Text for the box, e.g. `checkout` or a display name.
    pub label: String,
    /// Entity kind, e.g. `Component`, `API`, `Group`.
    pub kind: String,
    /// Backstage relation type from the centre's point of view, e.g. `dependsOn`.
    pub relation: String,
    /// `false` when no entity exists for `entity_ref`.
    pub resolved: bool,
}

/// A box placed on the canvas; `(x, y)` is its top-left corner.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedNode {
    /// Entity reference of the box.
    pub entity_ref: String,
    /// Text to draw, truncated to [`MAX_LABEL_CHARS`] characters with `…`.
    pub label: String,
    /// The untruncated label (e.g. for an SVG `<title>` tooltip).
    pub full_label: String,
    /// Entity kind.
    pub kind: String,
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Box width, derived from the label length.
    pub width: f64,
    /// Box height (fixed).
    pub height: f64,
    /// `true` only for the centre entity (always `nodes[0]`).
    pub is_centre: bool,
    /// `false` when no entity exists for `entity_ref`.
    pub resolved: bool,
}

/// A curved edge between two placed nodes.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedEdge {
    /// Index into [`Layout::nodes`] of the left-hand node (where the path starts).
    pub from: usize,
    /// Index into [`Layout::nodes`] of the right-hand node (where the path ends).
    pub to: usize,
    /// The relation as given, from the centre's point of view.
    pub relation: String,
    /// The relation as read along the edge, `from` → `to`: a centre that is
    /// `dependencyOf` X gives the label `dependsOn` (X depends on the centre).
    pub label: String,
    /// SVG path `d` attribute: one cubic Bézier, `M x0 y0 C x1 y1 x2 y2 x3 y3`.
    pub path: String,
    /// Horizontal position of the curve's midpoint, for the edge label.
    pub label_x: f64,
    /// Vertical position of the curve's midpoint, for the edge label.
    pub label_y: f64,
}

/// The complete layout: canvas size, boxes and edges.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Canvas width, covering every box and edge plus a margin.
    pub width: f64,
    /// Canvas height, covering every box and edge plus a margin.
    pub height: f64,
    /// The centre first, then the left column top to bottom, then the right column.
    pub nodes: Vec<PlacedNode>,
    /// Edges, grouped by neighbour node in node order.
    pub edges: Vec<PlacedEdge>,
    /// Distinct neighbour nodes (side, `entity_ref`) left out because of `max_nodes`.
    pub omitted: usize,
}

/// Labels longer than this many characters are truncated with `…`.
pub const MAX_LABEL_CHARS: usize = 28;

const MARGIN: f64 = 16.0;
const BOX_HEIGHT: f64 = 36.0;
const ROW_GAP: f64 = 16.0;
const COLUMN_GAP: f64 = 160.0;
const CHAR_WIDTH: f64 = 7.0;
const BOX_PADDING: f64 = 12.0;
const MIN_BOX_WIDTH: f64 = 80.0;
/// Vertical distance between the control points of parallel edges.
const PARALLEL_SPREAD: f64 = 20.0;
/// Largest control-point offset of a parallel edge (keeps curves inside the margin).
const MAX_BOW: f64 = 24.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Side {
    Left,
    Right,
}

/// Known relations in priority order: `(relation, side, label read left → right)`.
///
/// The order decides which neighbours survive `max_nodes` and the vertical
/// order within a column: first the few anchoring relations, then what the
/// centre provides and needs, then the often long lists of dependents,
/// members and owned entities.
const RELATIONS: [(&str, Side, &str); 14] = [
    ("ownedBy", Side::Right, "ownedBy"),
    ("partOf", Side::Right, "partOf"),
    ("childOf", Side::Right, "childOf"),
    ("memberOf", Side::Right, "memberOf"),
    ("providesApi", Side::Right, "providesApi"),
    ("apiProvidedBy", Side::Left, "providesApi"),
    ("dependsOn", Side::Right, "dependsOn"),
    ("consumesApi", Side::Right, "consumesApi"),
    ("parentOf", Side::Left, "childOf"),
    ("hasPart", Side::Left, "partOf"),
    ("dependencyOf", Side::Left, "dependsOn"),
    ("apiConsumedBy", Side::Left, "consumesApi"),
    ("hasMember", Side::Left, "memberOf"),
    ("ownerOf", Side::Left, "ownedBy"),
];

/// `(rank, side, edge label)`; unknown relations rank last, on the right,
/// labelled as given.
fn relation_info(relation: &str) -> (usize, Side, &str) {
    RELATIONS
        .iter()
        .enumerate()
        .find(|(_, (name, _, _))| *name == relation)
        .map_or((RELATIONS.len(), Side::Right, relation), |(rank, &(_, side, label))| (rank, side, label))
}

/// A neighbour node chosen for placement, with its relations in order.
struct Chosen<'a> {
    neighbour: &'a Neighbour,
    side: Side,
    relations: Vec<&'a str>,
}

/// Lays out the neighbourhood of `centre_ref`.
///
/// At most `max_nodes` neighbour boxes are placed (the centre is extra),
/// chosen in order of relation priority, then label, then `entity_ref`; a node
/// takes its label, kind and `resolved` flag from its first relation in that
/// order. [`Layout::omitted`] counts the neighbour nodes left out.
#[must_use]
pub fn layout(
    centre_ref: &str,
    centre_label: &str,
    centre_kind: &str,
    neighbours: &[Neighbour],
    max_nodes: usize,
) -> Layout {
    let mut sorted: Vec<&Neighbour> = neighbours.iter().filter(|n| n.entity_ref != centre_ref).collect();
    sorted.sort_by(|a, b| sort_key(a).cmp(&sort_key(b)));

    let mut seen_pairs: BTreeSet<(&str, &str)> = BTreeSet::new();
    let mut chosen_index: BTreeMap<(Side, &str), usize> = BTreeMap::new();
    let mut omitted_keys: BTreeSet<(Side, &str)> = BTreeSet::new();
    let mut chosen: Vec<Chosen<'_>> = Vec::new();
    for n in sorted {
        if !seen_pairs.insert((&n.entity_ref, &n.relation)) {
            continue;
        }
        let (_, side, _) = relation_info(&n.relation);
        let key = (side, n.entity_ref.as_str());
        if let Some(&i) = chosen_index.get(&key) {
            chosen[i].relations.push(&n.relation);
        } else if chosen.len() < max_nodes {
            chosen_index.insert(key, chosen.len());
            chosen.push(Chosen { neighbour: n, side, relations: vec![&n.relation] });
        } else {
            omitted_keys.insert(key);
        }
    }

    let left: Vec<&Chosen<'_>> = chosen.iter().filter(|c| c.side == Side::Left).collect();
    let right: Vec<&Chosen<'_>> = chosen.iter().filter(|c| c.side == Side::Right).collect();

    let centre_full = fallback_label(centre_label, centre_ref);
    let centre_width = box_width(&truncate_label(centre_full));
    let column_width = |col: &[&Chosen<'_>]| {
        col.iter()
            .map(|c| box_width(&truncate_label(fallback_label(&c.neighbour.label, &c.neighbour.entity_ref))))
            .fold(0.0, f64::max)
    };
    let left_width = column_width(&left);
    let right_width = column_width(&right);

    let content_height = column_height(left.len()).max(column_height(right.len())).max(BOX_HEIGHT);
    let centre_x = if left.is_empty() { MARGIN } else { MARGIN + left_width + COLUMN_GAP };
    let right_x = centre_x + centre_width + COLUMN_GAP;
    let width = if right.is_empty() { centre_x + centre_width + MARGIN } else { right_x + right_width + MARGIN };
    let height = content_height + 2.0 * MARGIN;

    let mut nodes = Vec::with_capacity(chosen.len() + 1);
    nodes.push(PlacedNode {
        entity_ref: centre_ref.to_string(),
        label: truncate_label(centre_full),
        full_label: centre_full.to_string(),
        kind: centre_kind.to_string(),
        x: round1(centre_x),
        y: round1(MARGIN + (content_height - BOX_HEIGHT) / 2.0),
        width: round1(centre_width),
        height: BOX_HEIGHT,
        is_centre: true,
        resolved: true,
    });

    // (node index, relations) per neighbour, in node order.
    let mut placed: Vec<(usize, Side, &[&str])> = Vec::with_capacity(chosen.len());
    for (column, side) in [(&left, Side::Left), (&right, Side::Right)] {
        let top = MARGIN + (content_height - column_height(column.len())) / 2.0;
        for (row, c) in column.iter().enumerate() {
            let n = c.neighbour;
            let full = fallback_label(&n.label, &n.entity_ref);
            let label = truncate_label(full);
            let w = box_width(&label);
            // Left boxes are right-aligned to their column, right boxes left-aligned.
            let x = match side {
                Side::Left => MARGIN + left_width - w,
                Side::Right => right_x,
            };
            placed.push((nodes.len(), side, &c.relations));
            nodes.push(PlacedNode {
                entity_ref: n.entity_ref.clone(),
                label,
                full_label: full.to_string(),
                kind: n.kind.clone(),
                x: round1(x),
                y: round1(top + row as f64 * (BOX_HEIGHT + ROW_GAP)),
                width: round1(w),
                height: BOX_HEIGHT,
                is_centre: false,
                resolved: n.resolved,
            });
        }
    }

    let mut edges = Vec::new();
    for (index, side, relations) in placed {
        let (from, to) = match side {
            Side::Left => (index, 0),
            Side::Right => (0, index),
        };
        let count = relations.len();
        let step = if count > 1 { PARALLEL_SPREAD.min(2.0 * MAX_BOW / (count - 1) as f64) } else { 0.0 };
        for (k, relation) in relations.iter().enumerate() {
            let bow = (k as f64 - (count - 1) as f64 / 2.0) * step;
            let (path, label_x, label_y) = curve(&nodes[from], &nodes[to], bow);
            edges.push(PlacedEdge {
                from,
                to,
                relation: (*relation).to_string(),
                label: relation_info(relation).2.to_string(),
                path,
                label_x,
                label_y,
            });
        }
    }

    Layout { width: round1(width), height: round1(height), nodes, edges, omitted: omitted_keys.len() }
}

/// Total order on all fields, so the result does not depend on input order.
fn sort_key(n: &Neighbour) -> (usize, &str, &str, &str, &str, bool) {
    (relation_info(&n.relation).0, &n.relation, &n.label, &n.entity_ref, &n.kind, n.resolved)
}

/// The trimmed label, or the entity ref when the label is blank.
fn fallback_label<'a>(label: &'a str, entity_ref: &'a str) -> &'a str {
    let trimmed = label.trim();
    if trimmed.is_empty() { entity_ref } else { trimmed }
}

fn truncate_label(label: &str) -> String {
    if label.chars().count() <= MAX_LABEL_CHARS {
        return label.to_string();
    }
    let mut short: String = label.chars().take(MAX_LABEL_CHARS - 1).collect();
    short.truncate(short.trim_end().len());
    short.push('…');
    short
}

/// Approximate width of a box holding `label` (average glyph width).
fn box_width(label: &str) -> f64 {
    (label.chars().count() as f64 * CHAR_WIDTH + 2.0 * BOX_PADDING).max(MIN_BOX_WIDTH)
}

fn column_height(rows: usize) -> f64 {
    if rows == 0 { 0.0 } else { rows as f64 * BOX_HEIGHT + (rows - 1) as f64 * ROW_GAP }
}

/// Cubic Bézier from the right side of `a` to the left side of `b`, with
/// horizontal tangents; `bow` shifts both control points vertically to
/// separate parallel edges. Returns the path and the curve's midpoint.
fn curve(a: &PlacedNode, b: &PlacedNode, bow: f64) -> (String, f64, f64) {
    let x0 = round1(a.x + a.width);
    let y0 = round1(a.y + a.height / 2.0);
    let x3 = round1(b.x);
    let y3 = round1(b.y + b.height / 2.0);
    let mid_x = round1((x0 + x3) / 2.0);
    let (x1, y1) = (mid_x, round1(y0 + bow));
    let (x2, y2) = (mid_x, round1(y3 + bow));
    let path = format!(
        "M {} {} C {} {} {} {} {} {}",
        fmt1(x0),
        fmt1(y0),
        fmt1(x1),
        fmt1(y1),
        fmt1(x2),
        fmt1(y2),
        fmt1(x3),
        fmt1(y3)
    );
    // B(1/2) = (P0 + 3 P1 + 3 P2 + P3) / 8
    let label_x = round1((x0 + 3.0 * x1 + 3.0 * x2 + x3) / 8.0);
    let label_y = round1((y0 + 3.0 * y1 + 3.0 * y2 + y3) / 8.0);
    (path, label_x, label_y)
}

fn round1(v: f64) -> f64 {
    // Adding 0.0 turns -0.0 into 0.0.
    (v * 10.0).round() / 10.0 + 0.0
}

/// Shortest decimal form of `v` rounded to one decimal: `12`, `12.5`.
fn fmt1(v: f64) -> String {
    format!("{}", round1(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nb(entity_ref: &str, label: &str, relation: &str) -> Neighbour {
        Neighbour {
            entity_ref: entity_ref.to_string(),
            label: label.to_string(),
            kind: "Component".to_string(),
            relation: relation.to_string(),
            resolved: true,
        }
    }

    fn centre_layout(neighbours: &[Neighbour], max_nodes: usize) -> Layout {
        layout("component:default/centre", "centre", "Component", neighbours, max_nodes)
    }

    /// A varied neighbourhood: every known relation, several per side.
    fn big_neighbourhood() -> Vec<Neighbour> {
        let mut v = Vec::new();
        for (i, (relation, _, _)) in RELATIONS.iter().enumerate() {
            for j in 0..3 {
                let name = format!("entity-{relation}-{j}-{}", "x".repeat(i * 3));
                v.push(nb(&format!("component:default/{name}"), &name, relation));
            }
        }
        v.push(nb("component:default/odd", "odd", "someCustomRelation"));
        v
    }

    fn find<'a>(l: &'a Layout, entity_ref: &str) -> Vec<(usize, &'a PlacedNode)> {
        l.nodes.iter().enumerate().filter(|(_, n)| n.entity_ref == entity_ref).collect()
    }

    /// Parses `M x0 y0 C x1 y1 x2 y2 x3 y3` into eight numbers.
    fn parse_path(path: &str) -> Vec<f64> {
        let tokens: Vec<&str> = path.split(' ').collect();
        assert_eq!(tokens.len(), 10, "path {path:?}");
        assert_eq!(tokens[0], "M");
        assert_eq!(tokens[3], "C");
        tokens
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 0 && *i != 3)
            .map(|(_, t)| {
                if let Some((_, frac)) = t.split_once('.') {
                    assert_eq!(frac.len(), 1, "more than one decimal in {t:?}");
                }
                t.parse::<f64>().expect("number in path")
            })
            .collect()
    }

    #[test]
    fn empty_neighbourhood_is_just_the_centre() {
        let l = centre_layout(&[], 20);
        assert_eq!(l.nodes.len(), 1);
        assert!(l.edges.is_empty());
        assert_eq!(l.omitted, 0);
        let c = &l.nodes[0];
        assert!(c.is_centre && c.resolved);
        assert_eq!(c.label, "centre");
        assert_eq!((c.x, c.y), (MARGIN, MARGIN));
        assert_eq!(c.width, MIN_BOX_WIDTH);
        assert_eq!(c.height, BOX_HEIGHT);
        assert_eq!(l.width, MIN_BOX_WIDTH + 2.0 * MARGIN);
        assert_eq!(l.height, BOX_HEIGHT + 2.0 * MARGIN);
    }

    #[test]
    fn relations_go_to_the_documented_side() {
        let right =
            ["dependsOn", "consumesApi", "partOf", "ownedBy", "childOf", "memberOf", "providesApi", "somethingNew"];
        let left = ["dependencyOf", "apiConsumedBy", "hasPart", "ownerOf", "parentOf", "hasMember", "apiProvidedBy"];
        for (relation, expect_right) in right.iter().map(|r| (r, true)).chain(left.iter().map(|r| (r, false))) {
            let l = centre_layout(&[nb("api:default/x", "x", relation)], 10);
            assert_eq!(l.nodes.len(), 2, "{relation}");
            let (c, n) = (&l.nodes[0], &l.nodes[1]);
            assert_eq!(l.edges.len(), 1);
            let e = &l.edges[0];
            assert_eq!(e.relation, *relation);
            if expect_right {
                assert!(n.x > c.x + c.width, "{relation} should be right");
                assert_eq!((e.from, e.to), (0, 1), "{relation}");
            } else {
                assert!(n.x + n.width < c.x, "{relation} should be left");
                assert_eq!((e.from, e.to), (1, 0), "{relation}");
            }
            // Both boxes share a row when alone: the edge is flat.
            assert_eq!(n.y, c.y);
        }
    }

    #[test]
    fn edge_labels_read_along_the_edge() {
        let l = centre_layout(
            &[
                nb("component:default/a", "a", "dependencyOf"),
                nb("group:default/team", "team", "ownedBy"),
                nb("component:default/c", "c", "apiProvidedBy"),
                nb("x:default/y", "y", "fooBar"),
            ],
            10,
        );
        let label_of = |relation: &str| l.edges.iter().find(|e| e.relation == relation).map(|e| e.label.as_str());
        assert_eq!(label_of("dependencyOf"), Some("dependsOn"));
        assert_eq!(label_of("ownedBy"), Some("ownedBy"));
        assert_eq!(label_of("apiProvidedBy"), Some("providesApi"));
        assert_eq!(label_of("fooBar"), Some("fooBar"));
    }

    #[test]
    fn deduplicates_pairs_and_merges_relations_per_side() {
        let l = centre_layout(
            &[
                nb("component:default/a", "a", "dependsOn"),
                nb("component:default/a", "a", "dependsOn"),
                nb("component:default/a", "a", "consumesApi"),
                nb("component:default/a", "a", "dependencyOf"),
                nb("component:default/b", "b", "dependsOn"),
                nb("component:default/centre", "me", "dependsOn"),
            ],
            10,
        );
        let a = find(&l, "component:default/a");
        assert_eq!(a.len(), 2, "one box per side");
        let centre_x = l.nodes[0].x;
        assert!(a.iter().any(|(_, n)| n.x < centre_x));
        assert!(a.iter().any(|(_, n)| n.x > centre_x));
        assert_eq!(find(&l, "component:default/b").len(), 1);
        assert_eq!(find(&l, "component:default/centre").len(), 1, "no self loop");
        assert_eq!(l.nodes.len(), 4);

        let right_a = a.iter().find(|(_, n)| n.x > centre_x).map(|(i, _)| *i).expect("a on the right");
        let mut rels: Vec<&str> = l.edges.iter().filter(|e| e.to == right_a).map(|e| e.relation.as_str()).collect();
        rels.sort_unstable();
        assert_eq!(rels, ["consumesApi", "dependsOn"]);
        assert_eq!(l.edges.len(), 4);
        assert_eq!(l.omitted, 0);

        // Parallel edges are visibly apart.
        let parallel: Vec<&PlacedEdge> = l.edges.iter().filter(|e| e.to == right_a).collect();
        assert_ne!(parallel[0].path, parallel[1].path);
        assert!((parallel[0].label_y - parallel[1].label_y).abs() >= 10.0);
    }

    #[test]
    fn max_nodes_bounds_placement_and_counts_omitted() {
        let mut input: Vec<Neighbour> =
            (0..10).map(|i| nb(&format!("component:default/d{i}"), &format!("d{i}"), "dependencyOf")).collect();
        input.push(nb("group:default/team", "team", "ownedBy"));
        // Same entity twice on one side counts once when omitted.
        input.push(nb("component:default/d9", "d9", "apiConsumedBy"));

        let l = centre_layout(&input, 3);
        assert_eq!(l.nodes.len(), 4);
        assert_eq!(l.omitted, 8);
        // ownedBy ranks first, then labels in order.
        let refs: BTreeSet<&str> = l.nodes[1..].iter().map(|n| n.entity_ref.as_str()).collect();
        let expected: BTreeSet<&str> = ["group:default/team", "component:default/d0", "component:default/d1"].into();
        assert_eq!(refs, expected);
        assert_eq!(l.edges.len(), 3);

        let none = centre_layout(&input, 0);
        assert_eq!(none.nodes.len(), 1);
        assert!(none.edges.is_empty());
        assert_eq!(none.omitted, 11);

        let all = centre_layout(&input, 100);
        assert_eq!(all.nodes.len(), 12);
        assert_eq!(all.edges.len(), 12);
        assert_eq!(all.omitted, 0);
    }

    #[test]
    fn deterministic_and_independent_of_input_order() {
        let input = big_neighbourhood();
        let a = centre_layout(&input, 25);
        let b = centre_layout(&input, 25);
        assert_eq!(a, b);
        let mut reversed = input.clone();
        reversed.reverse();
        assert_eq!(centre_layout(&reversed, 25), a);
        let mut rotated = input;
        rotated.rotate_left(7);
        assert_eq!(centre_layout(&rotated, 25), a);
    }

    #[test]
    fn columns_are_ordered_by_relation_then_label() {
        let l = centre_layout(
            &[
                nb("component:default/z", "zeta", "dependsOn"),
                nb("component:default/a", "alpha", "dependsOn"),
                nb("group:default/t", "team", "ownedBy"),
            ],
            10,
        );
        let labels: Vec<&str> = l.nodes[1..].iter().map(|n| n.label.as_str()).collect();
        assert_eq!(labels, ["team", "alpha", "zeta"]);
        assert!(l.nodes[1].y < l.nodes[2].y && l.nodes[2].y < l.nodes[3].y);
    }

    #[test]
    fn boxes_never_overlap() {
        let l = centre_layout(&big_neighbourhood(), 100);
        assert!(l.nodes.len() > 40);
        for (i, a) in l.nodes.iter().enumerate() {
            for b in &l.nodes[i + 1..] {
                let apart =
                    a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
                assert!(apart, "{} overlaps {}", a.entity_ref, b.entity_ref);
            }
        }
    }

    #[test]
    fn edges_are_in_range_and_run_left_to_right() {
        let l = centre_layout(&big_neighbourhood(), 100);
        assert_eq!(l.edges.len(), 43);
        for e in &l.edges {
            assert!(e.from < l.nodes.len() && e.to < l.nodes.len());
            assert_ne!(e.from, e.to);
            assert!(e.from == 0 || e.to == 0, "every edge touches the centre");
            let (a, b) = (&l.nodes[e.from], &l.nodes[e.to]);
            let p = parse_path(&e.path);
            assert_eq!((p[0], p[1]), (a.x + a.width, a.y + a.height / 2.0));
            assert_eq!((p[6], p[7]), (b.x, b.y + b.height / 2.0));
            assert!(p[0] < p[6]);
            // Label sits at B(1/2).
            let mx = (p[0] + 3.0 * p[2] + 3.0 * p[4] + p[6]) / 8.0;
            let my = (p[1] + 3.0 * p[3] + 3.0 * p[5] + p[7]) / 8.0;
            assert!((e.label_x - mx).abs() <= 0.05 && (e.label_y - my).abs() <= 0.05);
        }
    }

    #[test]
    fn everything_fits_inside_the_canvas() {
        // One entity under every left-hand relation: seven parallel edges.
        let parallel: Vec<Neighbour> = RELATIONS
            .iter()
            .filter(|(_, side, _)| *side == Side::Left)
            .map(|(relation, _, _)| nb("component:default/p", "p", relation))
            .collect();
        let mut cases: Vec<Layout> =
            [0, 1, 5, 17, 100].iter().map(|&max| centre_layout(&big_neighbourhood(), max)).collect();
        cases.push(centre_layout(&parallel, 10));
        assert_eq!(cases[5].edges.len(), 7);
        for l in cases {
            for n in &l.nodes {
                assert!(n.x >= MARGIN && n.y >= MARGIN, "{}", n.entity_ref);
                assert!(n.x + n.width <= l.width - MARGIN + 1e-9, "{}", n.entity_ref);
                assert!(n.y + n.height <= l.height - MARGIN + 1e-9, "{}", n.entity_ref);
            }
            for e in &l.edges {
                let p = parse_path(&e.path);
                for pt in p.chunks(2) {
                    assert!((0.0..=l.width).contains(&pt[0]), "{}", e.path);
                    assert!((0.0..=l.height).contains(&pt[1]), "{}", e.path);
                }
                assert!((0.0..=l.width).contains(&e.label_x));
                assert!((MARGIN..=l.height - MARGIN).contains(&e.label_y));
            }
        }
    }

    #[test]
    fn centre_is_vertically_centred() {
        let input: Vec<Neighbour> = (0..6)
            .map(|i| nb(&format!("component:default/n{i}"), &format!("n{i}"), "dependsOn"))
            .chain([nb("component:default/up", "up", "dependencyOf")])
            .collect();
        let l = centre_layout(&input, 100);
        let c = &l.nodes[0];
        assert_eq!(c.y + c.height / 2.0, l.height / 2.0);
        let up = find(&l, "component:default/up")[0].1;
        assert_eq!(up.y, c.y);
        assert_eq!(l.height, 6.0 * BOX_HEIGHT + 5.0 * ROW_GAP + 2.0 * MARGIN);
    }

    #[test]
    fn long_labels_are_truncated_and_widths_follow_labels() {
        let long = "a-really-quite-long-component-name-indeed";
        let l = centre_layout(
            &[
                nb("component:default/long", long, "dependsOn"),
                nb("component:default/mid", "twenty-character-nm", "dependsOn"),
                nb("component:default/blank", "  ", "dependsOn"),
            ],
            10,
        );
        let n = find(&l, "component:default/long")[0].1;
        assert_eq!(n.label.chars().count(), MAX_LABEL_CHARS);
        assert!(n.label.ends_with('…'));
        assert!(long.starts_with(n.label.trim_end_matches('…')));
        assert_eq!(n.full_label, long);
        assert_eq!(n.width, MAX_LABEL_CHARS as f64 * CHAR_WIDTH + 2.0 * BOX_PADDING);
        let m = find(&l, "component:default/mid")[0].1;
        assert_eq!(m.width, 19.0 * CHAR_WIDTH + 2.0 * BOX_PADDING);
        assert!(m.width < n.width);
        let b = find(&l, "component:default/blank")[0].1;
        assert_eq!(b.label, "component:default/blank");
        // Exactly at the limit stays untouched.
        assert_eq!(truncate_label(&"x".repeat(28)), "x".repeat(28));
        assert_eq!(truncate_label(&"é".repeat(29)), format!("{}…", "é".repeat(27)));
    }

    #[test]
    fn left_boxes_are_right_aligned() {
        let l = centre_layout(
            &[
                nb("component:default/s", "s", "dependencyOf"),
                nb("component:default/long", "a-much-longer-label-here", "dependencyOf"),
            ],
            10,
        );
        let rights: Vec<f64> = l.nodes[1..].iter().map(|n| n.x + n.width).collect();
        assert_eq!(rights[0], rights[1]);
        assert_eq!(l.nodes[0].x, rights[0] + COLUMN_GAP);
    }

    #[test]
    fn number_formatting() {
        assert_eq!(fmt1(10.0), "10");
        assert_eq!(fmt1(10.25), "10.3");
        assert_eq!(fmt1(1.23), "1.2");
        assert_eq!(fmt1(-0.01), "0");
        assert_eq!(fmt1(-3.45), "-3.5");
    }
}
