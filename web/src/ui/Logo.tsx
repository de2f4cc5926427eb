// The mark: an envelope on a rounded square (the same drawing as the icons).
export function Logo({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 64 64" aria-hidden="true" focusable="false">
      <rect width="64" height="64" rx="14" fill="#2f5fd0" />
      <rect x="13" y="19" width="38" height="27" rx="4" fill="#fff" />
      <path d="M15 22 32 35 49 22" fill="none" stroke="#2f5fd0" strokeWidth="4" strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}
