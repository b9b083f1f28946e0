"use client";

import Markdown, { defaultUrlTransform, type Components } from "react-markdown";
import rehypeSanitize from "rehype-sanitize";
import remarkGfm from "remark-gfm";

/** Links leave the report without telling the target where they came from (the page URL may hold a share token). */
const components: Components = {
  a: ({ node: _node, ...props }) => (
    <a
      {...props}
      target="_blank"
      rel="noopener noreferrer nofollow"
      className="text-indigo-700 underline dark:text-indigo-300"
    />
  ),
  img: ({ node: _node, alt, ...props }) => (
    // biome-ignore lint/performance/noImgElement: user-supplied images of any origin, which next/image cannot optimise (it needs each host configured).
    <img {...props} alt={alt ?? ""} referrerPolicy="no-referrer" loading="lazy" className="max-w-full" />
  ),
};

/**
 * A report's body: GitHub-flavoured Markdown rendered to React elements (never raw HTML strings),
 * then through rehype-sanitize's GitHub schema: no script, no event handlers, no style, and
 * urls limited to http(s), mailto and relative ones. Raw HTML in the source stays text.
 */
export function ReportMarkdown({ source }: { source: string }) {
  return (
    <div className="report-markdown" data-testid="report-body">
      <Markdown
        remarkPlugins={[remarkGfm]}
        rehypePlugins={[rehypeSanitize]}
        urlTransform={defaultUrlTransform}
        components={components}
        skipHtml
      >
        {source}
      </Markdown>
    </div>
  );
}
