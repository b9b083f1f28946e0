"use client";

import { yaml, yamlLanguage } from "@codemirror/lang-yaml";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { EditorSelection, EditorState, type Text } from "@codemirror/state";
import { EditorView, keymap } from "@codemirror/view";
import { tags } from "@lezer/highlight";
import { basicSetup } from "codemirror";
import { useEffect, useRef, type RefObject } from "react";
import { specCompletion } from "../../editor/_lib/spec-completion.ts";

/** A problem the server found in the spec, located by 1-based line and column. */
export type LocatedIssue = { path: string; message: string; line: number | null; column: number | null };

/** What the page can ask of the editor. */
export type SpecEditorHandle = {
  /** Moves the cursor to a line and column (1-based) and focuses the editor. */
  focusAt(line: number | null, column: number | null): void;
  /** Replaces the whole text as one undoable change. */
  replaceText(text: string): void;
};

// Colours come from CSS variables set on the wrapper, so the html `dark` class restyles the
// editor without reconfiguring it.
const highlightStyle = HighlightStyle.define([
  { tag: tags.definition(tags.propertyName), color: "var(--cm-key)" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--cm-string)" },
  { tag: tags.content, color: "var(--cm-value)" },
  { tag: tags.lineComment, color: "var(--cm-comment)", fontStyle: "italic" },
  { tag: [tags.separator, tags.punctuation, tags.squareBracket, tags.brace], color: "var(--cm-punctuation)" },
  { tag: [tags.meta, tags.labelName, tags.typeName, tags.keyword], color: "var(--cm-meta)" },
]);

const theme = EditorView.theme({
  "&": { height: "32rem", fontSize: "13px", backgroundColor: "var(--cm-background)", color: "var(--cm-foreground)" },
  "&.cm-focused": { outline: "2px solid #6366f1", outlineOffset: "-1px" },
  ".cm-scroller": { fontFamily: "var(--font-mono)", lineHeight: "1.55" },
  ".cm-content": { caretColor: "var(--cm-foreground)" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--cm-foreground)" },
  ".cm-gutters": {
    backgroundColor: "var(--cm-gutter)",
    color: "var(--cm-gutter-text)",
    borderRight: "1px solid var(--cm-border)",
  },
  ".cm-activeLine, .cm-activeLineGutter": { backgroundColor: "var(--cm-active-line)" },
  "&.cm-focused > .cm-scroller > .cm-selectionLayer .cm-selectionBackground, .cm-selectionBackground, .cm-content ::selection":
    {
      backgroundColor: "var(--cm-selection)",
    },
  ".cm-matchingBracket": { backgroundColor: "var(--cm-selection)", outline: "none" },
  ".cm-tooltip": {
    backgroundColor: "var(--cm-tooltip)",
    color: "var(--cm-foreground)",
    border: "1px solid var(--cm-border)",
    borderRadius: "6px",
  },
  ".cm-tooltip-autocomplete > ul > li[aria-selected]": { backgroundColor: "#4f46e5", color: "#ffffff" },
  ".cm-completionDetail": { opacity: "0.7", marginLeft: "1em" },
  ".cm-diagnostic": { padding: "4px 8px" },
  ".cm-panels": { backgroundColor: "var(--cm-gutter)", color: "var(--cm-foreground)" },
  ".cm-textfield, .cm-button": {
    backgroundColor: "var(--cm-background)",
    color: "var(--cm-foreground)",
    backgroundImage: "none",
  },
});

const wrapperColours = [
  "[--cm-background:#ffffff] [--cm-foreground:#0f172a] [--cm-gutter:#f8fafc] [--cm-gutter-text:#94a3b8] [--cm-border:#e2e8f0]",
  "[--cm-active-line:rgb(99_102_241/0.06)] [--cm-selection:rgb(99_102_241/0.22)] [--cm-tooltip:#ffffff]",
  "[--cm-key:#4338ca] [--cm-string:#047857] [--cm-value:#0f172a] [--cm-comment:#64748b] [--cm-punctuation:#94a3b8] [--cm-meta:#b45309]",
  "dark:[--cm-background:#020617] dark:[--cm-foreground:#e2e8f0] dark:[--cm-gutter:#0f172a] dark:[--cm-gutter-text:#64748b] dark:[--cm-border:#1e293b]",
  "dark:[--cm-active-line:rgb(148_163_184/0.08)] dark:[--cm-selection:rgb(129_140_248/0.35)] dark:[--cm-tooltip:#0f172a]",
  "dark:[--cm-key:#a5b4fc] dark:[--cm-string:#6ee7b7] dark:[--cm-value:#e2e8f0] dark:[--cm-comment:#94a3b8] dark:[--cm-punctuation:#64748b] dark:[--cm-meta:#fcd34d]",
].join(" ");

/** YAML has no tabs: Tab indents with two spaces. Escape then Tab still leaves the editor (CodeMirror's tab focus mode). */
const indentWithSpaces = keymap.of([
  {
    key: "Tab",
    run: (view) => {
      view.dispatch(
        view.state.changeByRange((range) => ({
          changes: { from: range.from, to: range.to, insert: "  " },
          range: EditorSelection.cursor(range.from + 2),
        })),
      );
      return true;
    },
  },
]);

function offsetOf(doc: Text, line: number | null, column: number | null): number {
  if (line === null) return 0;
  const target = doc.line(Math.min(Math.max(line, 1), doc.lines));
  return Math.min(target.from + Math.max((column ?? 1) - 1, 0), target.to);
}

function diagnosticsFor(state: EditorState, issues: readonly LocatedIssue[]): Diagnostic[] {
  return issues.map((issue) => {
    const from = offsetOf(state.doc, issue.line, issue.column);
    const word = state.wordAt(from);
    const line = state.doc.lineAt(from);
    const to = word && word.from === from ? word.to : issue.line === null ? line.to : Math.min(from + 1, line.to);
    return {
      from,
      to,
      severity: "error",
      message: issue.path ? `${issue.path}: ${issue.message}` : issue.message,
      source: "spec",
    };
  });
}

type Props = {
  initialText: string;
  onChange: (text: string) => void;
  /** Issues found in `issuesText`; shown only while the editor still holds that text. */
  issues: readonly LocatedIssue[];
  issuesText: string | null;
  handleRef: RefObject<SpecEditorHandle | null>;
  label: string;
};

export default function SpecCodeMirror({ initialText, onChange, issues, issuesText, handleRef, label }: Props) {
  const hostRef = useRef<HTMLDivElement>(null);
  const viewRef = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  useEffect(() => {
    onChangeRef.current = onChange;
  }, [onChange]);

  // Created once: later text comes from typing or `replaceText`, never from props.
  const initialTextRef = useRef(initialText);
  useEffect(() => {
    const host = hostRef.current;
    if (!host) return;
    const view = new EditorView({
      parent: host,
      state: EditorState.create({
        doc: initialTextRef.current,
        extensions: [
          basicSetup,
          yaml(),
          yamlLanguage.data.of({ autocomplete: specCompletion }),
          syntaxHighlighting(highlightStyle),
          theme,
          lintGutter(),
          indentWithSpaces,
          EditorView.contentAttributes.of({ "aria-label": label, "aria-multiline": "true" }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChangeRef.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    viewRef.current = view;
    handleRef.current = {
      focusAt(line, column) {
        const anchor = offsetOf(view.state.doc, line, column);
        view.dispatch({ selection: { anchor }, scrollIntoView: true });
        view.focus();
      },
      replaceText(text) {
        view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
      },
    };
    return () => {
      handleRef.current = null;
      viewRef.current = null;
      view.destroy();
    };
  }, [handleRef, label]);

  useEffect(() => {
    const view = viewRef.current;
    if (!view || issuesText === null || view.state.doc.toString() !== issuesText) return;
    view.dispatch(setDiagnostics(view.state, diagnosticsFor(view.state, issues)));
  }, [issues, issuesText]);

  return (
    <div
      ref={hostRef}
      data-testid="spec-codemirror"
      className={`overflow-hidden rounded-lg border border-slate-300 dark:border-slate-700 ${wrapperColours}`}
    />
  );
}
