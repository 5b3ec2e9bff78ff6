/** An account's or user's picture; their initials when it cannot be loaded (offline, a dead link). */
import { useState } from "preact/hooks";

export function initialsOf(label: string): string {
  const words = label.trim().split(/\s+/).filter(Boolean);
  return (
    words
      .slice(0, 2)
      .map((w) => [...w][0] ?? "")
      .join("")
      .toUpperCase() || "?"
  );
}

export function Avatar({ src, label }: { src: string | null; label: string }) {
  const [failed, setFailed] = useState(false);
  if (!src || failed) {
    return (
      <span class="avatar avatar-initials" aria-hidden="true">
        {initialsOf(label)}
      </span>
    );
  }
  return <img class="avatar" src={src} alt="" width={48} height={48} onError={() => setFailed(true)} />;
}
