/**
 * The words the tiny CLIP-style vocabulary learns as whole tokens: everyday English plus the
 * vocabulary of image prompts. Anything else still tokenises, into sub-word pieces and bytes.
 */

/** The training words, most common first (earlier words win ties between merges). */
export const PROMPT_WORDS: readonly string[] = `
a an the of and in on at with to for from by over under above below near into through behind
is are was it its this that as or not no but very more most
photo photograph picture painting drawing sketch illustration render art artwork poster
portrait landscape cityscape seascape still life close up wide view shot scene
digital oil watercolor watercolour acrylic ink pencil charcoal pastel cartoon anime comic
style detailed highly intricate beautiful stunning epic cinematic dramatic moody dreamy
soft sharp bright dark light lighting lit glowing shining neon vivid vibrant colorful colourful
pale muted warm cold cool calm quiet peaceful serene misty foggy hazy sunny cloudy rainy stormy
realistic photorealistic surreal abstract minimal minimalist simple geometric fantasy magic
magical ancient old new modern futuristic retro vintage tiny small little big large huge giant
red orange yellow green blue purple violet pink white black gray grey brown gold golden silver
teal cyan magenta crimson scarlet amber emerald turquoise indigo navy lavender beige
sun sunset sunrise dawn dusk morning evening night midnight day sky skies cloud clouds star stars
moon planet space galaxy nebula cosmos universe aurora rainbow storm lightning rain snow ice
fire flame flames smoke water ocean sea lake river waterfall wave waves beach shore island
coast sand desert dune mountain mountains hill hills valley canyon cliff rock rocks stone cave
forest woods jungle tree trees leaf leaves flower flowers garden field fields meadow grass
rose roses tulip sunflower blossom cherry autumn fall spring summer winter
city town village street road bridge tower castle house home building buildings skyscraper
room window door wall roof church temple ruins harbor harbour boat ship sail train car bike
cat cats dog dogs bird birds horse fish whale dragon lion tiger wolf fox bear owl butterfly
rabbit deer cow sheep duck eagle snake frog monkey elephant
man woman men women boy girl child children people person king queen knight robot astronaut
wizard witch warrior angel ghost monster alien
eating sitting standing walking running flying swimming sleeping dancing playing reading
holding wearing looking floating burning melting
hat coat dress shirt crown sword book cup tea coffee cake apple bread pizza food table chair
lamp candle clock mirror glass crystal gem diamond mask
by trending artstation unreal engine octane 4k 8k hd hdr resolution quality masterpiece best
concept painted made one two three first second shadow wood
`
  .split(/\s+/)
  .filter((word, index, all) => word.length > 0 && all.indexOf(word) === index);
