/**
 * India's STQC essential requirements for the security of CCTV cameras (MeitY order of 9 April 2024,
 * IS 13252 (Part 1) plus the security annexure, tested by STQC labs). Palisade records each camera's
 * STQC certificate reference; the areas below say what the requirement covers and which part Palisade
 * can observe on a running camera (the devices module reports those observations when it lands).
 */

export interface StqcArea {
  id: 'physical' | 'access-control' | 'network' | 'software' | 'penetration-testing';
  title: string;
  /** What the area asks of a camera, in Palisade's words. */
  covers: readonly string[];
  /** What a VMS can check on a live camera; the rest rests on the lab certificate. */
  observable: readonly string[];
}

export const STQC_VERSION = 'MeitY CCTV essential security requirements, order of 2024-04-09';

export const STQC_AREAS: readonly StqcArea[] = [
  {
    id: 'physical',
    title: 'Physical security',
    covers: [
      'an enclosure that resists and shows tampering',
      'no open debug or test interfaces (such as UART or JTAG) on the shipped product',
    ],
    observable: [],
  },
  {
    id: 'access-control',
    title: 'Access control',
    covers: [
      'every interface requires authentication',
      'no default or hard-coded credentials',
      'role-based access on the device',
    ],
    observable: ['default credentials accepted by the camera', 'unauthenticated interfaces answering'],
  },
  {
    id: 'network',
    title: 'Network security',
    covers: ['encrypted transmission of video and control traffic', 'only the services needed are exposed'],
    observable: ['encrypted transport offered and used (RTSPS, HTTPS)', 'exposed network services'],
  },
  {
    id: 'software',
    title: 'Software security',
    covers: [
      'signed firmware updates and secure boot',
      'a software bill of materials',
      'unused features disabled',
      'strong password rules',
    ],
    observable: ['firmware signature and version against the vendor advisory feed'],
  },
  {
    id: 'penetration-testing',
    title: 'Penetration testing',
    covers: ['the product has passed penetration testing by an accredited lab'],
    observable: [],
  },
];
