"""Sentiment words, negators, intensifiers and other cues, after normalization (simplified
Chinese, lower case). Scores: +1 / -1 a plain verdict, ±2 a strong one, 0 a neutral verdict
("一般", "ok": counts as a verdict for vagueness but moves nothing)."""

from __future__ import annotations

POSITIVE_ZH = (
    "好 不错 满意 棒 赞 点赞 优秀 完美 喜欢 快 快速 迅速 及时 准时 方便 便捷 简单 清爽 好用 好吃"
    " 好看 舒服 耐用 实惠 划算 便宜 值 值得 超值 热情 耐心 专业 礼貌 有礼貌 客气 亲切 贴心 周到"
    " 细心 仔细 用心 靠谱 给力 顺利 顺畅 流畅 高效 利索 麻利 省事 省心 放心 感谢 谢谢 多谢 推荐"
    " 惊喜 一流 好评 漂亮 精致 新鲜 稳定 清楚 公道 合理 优惠 愉快 开心 厉害 出色 到位 提前 直观"
    " 直觉 满分 信赖 好正 几好 抵 几抵 抵买 抵食 正 赞赞 挺好 很好 蛮好 还不错 好评如潮 美味"
    " 干净 清晰 准确 透明 效率高 周全 温柔 积极 认真 负责 诚信 满足 舒心 安心 放心 超出预期"
    " 物超所值 物有所值 回购 流畅 稳 快捷 轻松 友好 体贴 随和 友善 热心 负责任 解决 修好 搞定"
    " 搞掂 处理好 好评 完善 赞赏 感动 舒适 实用 足 划得来 便宜点 准 香 甜 笑容"
).split()
NEGATIVE_ZH = (
    "差 糟糕 烂 垃圾 坑 失望 不满 慢 贵 坏 破 破损 裂 脏 臭 难吃 难用 难 麻烦 繁琐 复杂 折腾"
    " 冷漠 敷衍 爱理不理 没人理 粗糙 瑕疵 毛病 闪退 卡 卡顿 死机 当机 崩溃 打不开 登不上 用不了"
    " 丢 丢失 错 送错 算错 错误 扔 骗 被骗 踢皮球 推诿 推脱 浪费 浪费时间 久 很久 好久 半天 拖"
    " 拖延 延误 迟 晚 凉 冷 虚高 离谱 坑爹 乱收费 多扣 扣钱 莫名其妙 投诉 差评 恶心 生气 愤怒"
    " 无语 郁闷 困扰 后悔 挂 挂断 占线 阴阳怪气 冷淡 不耐烦 凶 串 嬲 衰 渣 废 难食 伤心 折磨"
    " 噩梦 太久 没下文 没动静 乱 一问三不知 丑 假货 次品 山寨 欺骗 忽悠 霸王条款 坑人 差劲"
    " 失败 故障 延迟 不准时 缺 少发 漏发 错发 发错 糊弄 不靠谱 不值 不值得 受骗 黑心 奸商 坑钱"
    " 答不上来 不专业 别买 不会再 再也不 讨厌 气人 生气 不爽 烦 烦人 累 心累 吐槽 辣鸡 太差"
    " 很差 好差 超差 极差 难搞 难办 费劲 费事 耽误 为难 刁难 扯皮 过期 变质 发霉 漏 漏水"
    " 异味 掉色 起球 变形 不稳 不稳定 报错 出错 卡死 闪退 bug 崩 掉线 黑屏 白屏 闪屏"
).split()
NEUTRAL_ZH = (
    "一般 一般般 还行 还可以 可以 凑合 马马虎虎 普通 普普通通 没感觉 说不上来 无所谓 无 没有"
    " 没什么 没意见 没什么意见 麻麻 麻麻哋 中规中矩 不好说 没什么特别 一般啦 还好 就那样 平平"
    " 行吧 行 ok 一般化 算了"
).split()
POSITIVE_EN = (
    "good great excellent awesome amazing fantastic perfect love loved lovely nice fast quick"
    " quickly speedy easy simple smooth friendly helpful polite kind professional courteous patient"
    " cheap affordable reasonable fair worth durable solid reliable happy satisfied pleased thanks"
    " thank recommend best efficient clean convenient early painless straightforward intuitive"
    " wonderful brilliant superb impressed glad enjoy enjoyed fresh tasty delicious comfortable"
    " prompt promptly responsive accurate seamless cool legit dope resolved solved fixed sorted"
    " works working well quality-wise superb outstanding exceptional pleasant attentive"
    " knowledgeable competent smoothly reasonable decent"
).split()
NEGATIVE_EN = (
    "bad terrible awful horrible poor worst slow late rude unhelpful expensive overpriced pricey"
    " costly broken broke defective faulty damaged crash crashes crashing crashed bug buggy glitch"
    " glitchy lost missing wrong error fail failed fails annoying frustrating frustrated"
    " disappointed disappointing useless waste hate sucks suck crap trash garbage ridiculous"
    " insane nightmare confusing complicated difficult hard hassle pain forever delay delayed"
    " dirty stale ripoff scam unacceptable angry upset mess messy ugly pending unresolved ignored"
    " ignore complaint complain lousy mediocre cold laggy lag slowly incompetent dismissive"
    " unprofessional clunky painful worse mistake problem issue tedious"
).split()
NEUTRAL_EN = "ok okay fine meh average alright so-so whatever n/a none nothing na".split()

PHRASES: dict[str, float] = {
    # idioms whose meaning is not the sum of their words (checked before single words)
    "没问题": 1, "没毛病": 1, "没得说": 1, "没话说": 1, "挑不出毛病": 1.5, "无可挑剔": 1.5,
    "没什么问题": 1, "冇问题": 1, "没有问题": 1, "不错": 1, "不怎么样": -1, "不行": -1,
    "不好用": -1, "没用": -1, "不满": -1, "不爽": -1.5, "不靠谱": -1.5, "五星": 1.5,
    "会再来": 1, "还会再来": 1, "下次还": 0.5, "会推荐": 1, "推荐给": 1, "没什么特别的": 0,
    "没什么特别": 0, "好一个": 0, "也是没谁了": -1.5, "真是服了": -1.5, "服了": -1,
    "thanks for nothing": -2, "no complaints": 1, "not bad": 0.8, "not too bad": 0.8,
    "never again": -2, "could be better": -0.8, "nothing special": 0, "not the best": -0.5,
    "not the worst": 0.5, "value for money": 1, "worth it": 1, "rip off": -1.5,
    "stopped working": -1.5, "hung up": -1.5, "timing out": -1, "time out": -1,
    "no wait": 1, "right away": 1, "on time": 1, "in and out": 1, "hassle free": 1,
    "hassle-free": 1, "five stars": 1.5, "5 stars": 1.5, "10/10": 1.5, "so so": 0,
    "not happy": -1, "dark mode": 0, "user friendly": 1, "user-friendly": 1,
    "cant log in": -1, "can't log in": -1, "took forever": -1.5, "nothing to add": 0,
    "超出预期": 1.5, "物有所值": 1.5, "一分钱一分货": 0, "不清楚": -0.8, "不一样": -0.5,
    "货不对板": -1.5, "下次再嚟": 1, "下次再来": 1, "下次会再来": 1,
}

NEGATORS = frozenset(
    "不 没 没有 无 未 别 非 毫无 从不 从没 从来没 并不 并没 并非 不是 不太 不怎么 不算 不会 不用"
    " 不要 不必 唔 冇 未有 唔系 唔算 not no never nobody nothing none hardly barely without"
    " dont doesnt didnt isnt wasnt werent arent cant cannot couldnt wont wouldnt shouldnt"
    " havent hasnt hadnt aint nor neither".split()
)
INTENSIFIERS: dict[str, float] = {
    word: 1.5
    for word in (
        "很 非常 太 超 超级 特别 极其 极 十分 真 真是 真的 好 挺 蛮 相当 格外 实在 巨 贼 老"
        " 最 更 太过 过于 极度 超超 好好 够 几 very so super really extremely too way totally"
        " absolutely incredibly highly truly quite most such"
    ).split()
}
DOWNTONERS: dict[str, float] = {
    word: 0.5
    for word in (
        "有点 有点儿 有些 稍微 稍 略 略微 一点 一点点 点 些 偶尔 有时 还算 比较 偏 a-bit bit"
        " slightly kinda kind-of somewhat little sometimes occasionally fairly"
    ).split()
}
CONTRASTS = frozenset(
    "但 但是 不过 可是 然而 就是 只是 可惜 唯一 除了 but however though although yet except"
    " unfortunately sadly".split()
)
"""Words that start a clause which outweighs what came before ("东西不错，就是贵")."""
SARCASM_MARKERS = ("呵呵", "好一个", "真行", "也是没谁了", "真是服了", "好到", "真厉害啊",
                   "oh great", "oh wonderful", "just great", "yeah right", "thanks for nothing",
                   "wow", "oh joy", "great job", "bravo", "what a surprise", "lol great")
"""Cues that praise next to a hardship is irony ("呵呵，客服真专业，问三遍都答不上来")."""

SLANG_EN: dict[str, str] = {
    "r": "are", "u": "you", "ur": "your", "thx": "thanks", "thnx": "thanks", "ty": "thanks",
    "gr8": "great", "luv": "love", "sux": "sucks", "pls": "please", "plz": "please",
    "cust": "customer", "svc": "service", "srvc": "service", "msg": "message", "w/": "with",
    "coz": "because", "cuz": "because", "im": "i", "ive": "i", "idk": "dunno", "tbh": "",
    "asap": "", "lol": "", "lmao": "", "omg": "", "btw": "", "kinda": "kinda", "rly": "really",
    "v": "very", "pricy": "pricey", "ppl": "people", "mins": "minutes", "min": "minutes",
    "hrs": "hours", "hr": "hours", "wks": "weeks", "info": "information", "wtf": "terrible",
    "meh": "meh", "smh": "bad", "ok": "ok", "k": "ok",
}
