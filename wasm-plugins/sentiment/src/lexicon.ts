// The sentiment lexicon: "word:valence" pairs, valence from -5 (very negative) to +5 (very
// positive). Kept as one string constant so it lives in static data: the stub runtime's heap
// is reset after every call, so the lookup table is rebuilt per call from this text.
export const LEXICON: string =
  "abandon:-2,abandoned:-2,abuse:-3,abysmal:-4,accept:1,accomplish:2,accomplished:2,admire:3," +
  "adore:3,advantage:2,afraid:-2,aggravating:-2,agree:1,alarming:-2,amazed:2,amazing:4," +
  "angry:-3,annoyed:-2,annoying:-2,anxious:-2,appalling:-4,appreciate:2,appreciated:2," +
  "awesome:4,awful:-3,bad:-3,best:3,better:2,bland:-1,bliss:3,blessed:2,boring:-2,brilliant:4," +
  "broken:-2,buggy:-2,calm:2,care:2,careless:-2,celebrate:3,charming:3,cheap:-1,cheerful:2," +
  "clean:2,clever:2,clumsy:-2,comfortable:2,complain:-2,complaint:-2,confused:-2,confusing:-2,cool:1," +
  "crap:-3,crash:-2,crashed:-2,crashes:-2,cruel:-3,cry:-1,damage:-3,damaged:-3,dead:-3," +
  "decent:1,defective:-3,delay:-1,delayed:-1,delight:3,delighted:3,delightful:3,depressed:-2," +
  "disappointed:-2,disappointing:-2,disaster:-3,disgusting:-3,dislike:-2,dreadful:-3," +
  "easy:1,effective:2,efficient:2,elegant:2,enjoy:2,enjoyed:2,enthusiastic:3,excellent:3," +
  "exciting:3,expensive:-1,fail:-2,failed:-2,failure:-2,fair:2,fantastic:4,fast:1,fault:-2," +
  "faulty:-2,favorite:2,fine:2,flawless:4,fortunate:2,free:1,friendly:2,frustrated:-2," +
  "frustrating:-2,fun:4,glad:3,good:3,gorgeous:3,grateful:3,great:3,greedy:-2,happy:3,hate:-3," +
  "hated:-3,hates:-3,helpful:2,hope:2,horrible:-3,hurt:-2,ideal:3,ignored:-2,impressed:3," +
  "impressive:3,inadequate:-2,incompetent:-2,incredible:4,inferior:-2,insult:-2,interesting:2," +
  "joy:3,kind:2,lame:-2,lazy:-1,like:2,liked:2,lost:-2,love:3,loved:3,lovely:3,loves:3,mad:-3," +
  "masterpiece:4,mediocre:-1,mess:-2,miserable:-3,mistake:-2,nasty:-3,neat:2,nice:3,noisy:-1," +
  "outstanding:5,overpriced:-2,pain:-2,painful:-2,pathetic:-2,perfect:3,pleasant:3,pleased:3," +
  "poor:-2,positive:2,praise:3,pretty:1,problem:-2,problems:-2,proud:2,quality:1,recommend:2," +
  "recommended:2,refund:-1,regret:-2,reliable:2,rude:-2,sad:-2,safe:1,satisfied:2,scam:-3," +
  "scary:-2,secure:2,shame:-2,slow:-2,smooth:2,sorry:-1,stable:2,stellar:4,stolen:-2,strong:2," +
  "stupid:-2,success:2,successful:3,superb:5,sweet:2,terrible:-3,terrific:4," +
  "thank:2,thanks:2,thrilled:5,tired:-2,trust:1,ugly:-3,unacceptable:-3,unhappy:-2," +
  "unreliable:-2,unusable:-3,upset:-2,useful:2,useless:-2,waste:-1,wasted:-2,weak:-2," +
  "welcome:2,win:4,wonderful:4,worse:-3,worst:-3,worthless:-2,wow:4,wrong:-2," +
  "génial:3,magnifique:4,nul:-3,bueno:3,malo:-3,gut:3,schlecht:-3," +
  "😀:2,😃:2,😄:2,😊:2,😍:3,🥰:3,👍:2,❤️:3,❤:3,🎉:3,😢:-2,😭:-3,😡:-4,😠:-3,👎:-2,💔:-3";

// Words that flip the valence of the next sentiment word within three words.
export const NEGATORS: string =
  "not,no,never,none,nobody,nothing,neither,nor,without,hardly,cannot,ain't,aren't,can't," +
  "couldn't,didn't,doesn't,don't,hasn't,haven't,isn't,shouldn't,wasn't,weren't,won't,wouldn't";

// Words that scale the next sentiment word: "word:factor".
export const MODIFIERS: string =
  "very:1.5,really:1.5,extremely:2,so:1.5,super:1.5,incredibly:2,absolutely:2,totally:1.5," +
  "truly:1.5,most:1.5,slightly:0.5,somewhat:0.5,barely:0.5,kinda:0.5,fairly:0.75,quite:1.25";
