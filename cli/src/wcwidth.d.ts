declare module 'wcwidth' {
  /** Columns `text` takes on a terminal (East Asian wide characters count two, combining marks none). */
  export default function wcwidth(text: string): number;
}
