/**
 * NixOS release -> codename. Our own table (NixOS names its releases alphabetically after animals); a release
 * missing here still gets its codename from the generation's boot.json label when there is one.
 */
const CODENAMES: Readonly<Record<string, string>> = {
  '13.10': 'Aardvark',
  '14.04': 'Baboon',
  '14.12': 'Caterpillar',
  '15.09': 'Dingo',
  '16.03': 'Emu',
  '16.09': 'Flounder',
  '17.03': 'Gorilla',
  '17.09': 'Hummingbird',
  '18.03': 'Impala',
  '18.09': 'Jellyfish',
  '19.03': 'Koi',
  '19.09': 'Loris',
  '20.03': 'Markhor',
  '20.09': 'Nightingale',
  '21.05': 'Okapi',
  '21.11': 'Porcupine',
  '22.05': 'Quokka',
  '22.11': 'Raccoon',
  '23.05': 'Stoat',
  '23.11': 'Tapir',
  '24.05': 'Uakari',
  '24.11': 'Vicuña',
  '25.05': 'Warbler',
  '25.11': 'Xantusia',
  '26.05': 'Yarara',
  '26.11': 'Zokor',
};

/** The codename of a release such as "24.05", or null when the table does not know it. */
export function codenameForRelease(release: string | null | undefined): string | null {
  if (!release) return null;
  return Object.prototype.hasOwnProperty.call(CODENAMES, release) ? CODENAMES[release]! : null;
}
