/** The Drover release; a test keeps it equal to package.json's version. */
export const droverVersion = "0.1.0";
