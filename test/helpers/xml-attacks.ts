/**
 * Hostile XML for tests: the "billion laughs" entity expansion, which a safe
 * parser must refuse (Gantry refuses any document type declaration).
 */

/** A billion-laughs document whose root element `root` holds the 10⁹-fold expansion. */
export function billionLaughs(root: string): string {
  const levels = Array.from({ length: 9 }, (_v, i) => {
    const prev = i === 0 ? 'lol' : `lol${i}`;
    return ` <!ENTITY lol${i + 1} "${`&${prev};`.repeat(10)}">`;
  });
  return `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
${levels.join('\n')}
]>
<${root}>&lol9;</${root}>`;
}
